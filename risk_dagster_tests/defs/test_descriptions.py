"""Every asset and asset check says what it is, and placeholders survive the UI's Markdown."""

import re

from risk_dagster.definitions import defs

# "<data>" outside backticks is an HTML tag to the UI's Markdown renderer: it disappears.
_BARE_TAG = re.compile(r"<[a-z_]+>")


def _outside_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "", text)


def test_every_asset_and_check_has_a_description():
    graph = defs.resolve_asset_graph()
    missing = [k.to_user_string() for k in graph.get_all_asset_keys()
               if not (graph.get(k).description or "").strip()]
    assert not missing
    checks = [graph.get_check_spec(k) for k in graph.asset_check_keys]
    assert len(checks) >= 20
    assert not [c.name for c in checks if not (c.description or "").strip()]


def test_placeholders_are_in_code_spans():
    graph = defs.resolve_asset_graph()
    texts = [graph.get(k).description or "" for k in graph.get_all_asset_keys()]
    texts += [graph.get_check_spec(k).description or "" for k in graph.asset_check_keys]
    texts += [j.description or "" for j in defs.resolve_all_job_defs()]
    texts += [s.description or "" for s in defs.sensors or []]
    bare = [t for t in texts if _BARE_TAG.search(_outside_code(t))]
    assert not bare
    recs = graph.get(next(k for k in graph.get_all_asset_keys()
                          if k.to_user_string() == "trade_recommendations")).description
    assert "`<data>/live/<date>/`" in recs
