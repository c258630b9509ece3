"""The morning's files for the risk desk, and the append-only history of every morning.

Layout under the data root:

- ``<data>/live/YYYY-MM-DD/``: ``recommendations.csv`` (one row per trader, list cells joined
  with "; "), ``recommendations.json`` (the audit record and the rows), ``report.html`` (see
  :mod:`risk_dagster.recommendations.daily_report`) and ``monitoring_log.json`` (what the caller
  passes: timings, checks, notifications, warnings).
- ``<data>/live/history/date=YYYY-MM-DD/data.parquet``: that morning's rows in the
  ``RECOMMENDATIONS`` schema. One file per date, so the history only grows across dates and
  re-running a date replaces its file (never a duplicate). Query it with DuckDB::

      SELECT * FROM read_parquet('<data>/live/history/*/data.parquet', hive_partitioning = false)

  or with :func:`history_relation` / :func:`read_history`.

Every file is written to a hidden temp file in its own folder and renamed over the final name
(``os.replace``), so a reader sees the old or the new file, never half of one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from risk_dagster.core.lake import PART_FILE, Lake
from risk_dagster.recommendations.audit import json_safe
from risk_dagster.recommendations.config import LEVEL_RANK
from risk_dagster.recommendations.daily_report import daily_report_html
from risk_dagster.recommendations.schema import RECOMMENDATIONS
from risk_dagster.recommendations.scores import as_date

LIVE_DIR = "live"
HISTORY_ASSET = "history"
FILE_NAMES = {"csv": "recommendations.csv", "json": "recommendations.json",
              "html": "report.html", "monitoring": "monitoring_log.json"}
HISTORY_VIEW = "recommendation_history"

# Columns a reader of the CSV wants first; the rest of the schema follows in schema order.
_CSV_FIRST = ["for_date", "trader_id", "level", "size_multiplier", "daily_loss_limit_usd",
              "max_position_notional_usd", "risk_score", "p_large_loss", "reasons", "rule_hits",
              "review", "last_day_pnl", "var_05", "pred_pnl"]
_CSV_ROUND = {"p_large_loss": 4, "risk_score": 1, "size_multiplier": 4, "sharpe_6w": 3}
# A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LISTS = (list, tuple, np.ndarray)


def live_dir(data_dir: str | os.PathLike[str], today: dt.date) -> Path:
    """``<data>/live/YYYY-MM-DD`` for the morning of ``today``."""
    return Path(data_dir) / LIVE_DIR / as_date(today).isoformat()


def _write_atomic(path: Path, text: str) -> Path:
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _text_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def recommendations_csv(recs: pd.DataFrame) -> str:
    """CSV text of the recommendations: strictest level first, then highest risk score; list
    cells (reasons, rule hits, reason features) joined with "; "; USD to cents; empty = unknown."""
    out = recs.reset_index(drop=True).copy()
    order = out["level"].map(LEVEL_RANK).fillna(-1)
    out = out.assign(_rank=order).sort_values(["_rank", "risk_score", "trader_id"],
                                              ascending=[False, False, True], kind="stable")
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, _LISTS)).any():
            out[col] = out[col].map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, _LISTS) else "")
    for col in [c for c in out.columns if c.endswith("_usd") or c in ("last_day_pnl", "var_05",
                                                                      "pred_pnl")]:
        out[col] = pd.to_numeric(out[col], errors="coerce").round(2)
    for col, digits in _CSV_ROUND.items():
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").round(digits)
    first = [c for c in _CSV_FIRST if c in out.columns]
    cols = first + [c for c in out.columns if c not in first and c != "_rank"]
    out = out[cols].map(_text_cell)
    return out.to_csv(index=False, lineterminator="\n")


def _records(recs: pd.DataFrame) -> list[dict[str, Any]]:
    rows = recs.reset_index(drop=True).to_dict(orient="records")
    return json_safe(rows)


def _dumps(value: Any) -> str:
    return json.dumps(json_safe(value), indent=1, allow_nan=False, ensure_ascii=False)


def _previous_from(history: pd.DataFrame, today: dt.date) -> pd.DataFrame | None:
    dates = history["for_date"].map(as_date) if len(history) else pd.Series(dtype=object)
    before = dates[dates < today]
    if before.empty:
        return None
    return history[dates == before.max()]


def write_live_outputs(data_dir: str | os.PathLike[str], today: dt.date, recs: pd.DataFrame,
                       firm_summary: Mapping[str, Any], audit: Mapping[str, Any],
                       monitoring: Mapping[str, Any], *, history_frame: pd.DataFrame | None = None,
                       pnl_history: pd.DataFrame | None = None,
                       previous_recs: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the morning's four files into ``<data>/live/YYYY-MM-DD/`` and return their paths
    (keys ``csv``, ``json``, ``html``, ``monitoring``).

    In: ``recs`` and ``firm_summary`` from :func:`recommend`, ``audit`` from
    :func:`to_audit_json`, ``monitoring`` (any JSON-able dict). ``history_frame``: earlier mornings
    (for_date, trader_id, level, risk_score) for the report's heatmap; ``None`` reads them from the
    history store. ``pnl_history``: trade_date, trader_id, net_pnl (USD) for the firm P&L chart.
    ``previous_recs``: the previous morning's rows; ``None`` takes the latest morning before
    ``today`` from ``history_frame``.
    Re-running a date replaces that folder's files (files of an earlier run that are not among the
    four are removed); other dates are never touched.
    """
    today = as_date(today)
    folder = live_dir(data_dir, today)
    folder.mkdir(parents=True, exist_ok=True)
    if history_frame is None:
        history_frame = read_history(data_dir, end=today - dt.timedelta(days=1))
    if previous_recs is None:
        previous_recs = _previous_from(history_frame, today)
    texts = {
        "csv": recommendations_csv(recs),
        "json": _dumps({"audit": audit, "recommendations": _records(recs)}),
        "html": daily_report_html(today, recs, firm_summary, pnl_history,
                                  previous_recs=previous_recs, score_history=history_frame),
        "monitoring": _dumps(monitoring),
    }
    paths = {key: _write_atomic(folder / FILE_NAMES[key], text) for key, text in texts.items()}
    for stale in folder.iterdir():
        if stale.is_file() and stale.name not in FILE_NAMES.values():
            stale.unlink(missing_ok=True)
    return paths


# -- history ------------------------------------------------------------------------------------
def _history_lake(data_dir: str | os.PathLike[str]) -> Lake:
    return Lake(Path(data_dir) / LIVE_DIR)


def history_glob(data_dir: str | os.PathLike[str]) -> str:
    """The DuckDB glob over every morning of the history: ``<data>/live/history/*/data.parquet``."""
    return _history_lake(data_dir).glob(HISTORY_ASSET)


def append_history(data_dir: str | os.PathLike[str], today: dt.date, recs: pd.DataFrame) -> Path:
    """Write ``today``'s recommendations (``RECOMMENDATIONS`` schema, every row's for_date must be
    ``today``) as ``<data>/live/history/date=YYYY-MM-DD/data.parquet``, replacing that date's file
    if it exists; returns the path."""
    today = as_date(today)
    wrong = sorted({str(d) for d in recs["for_date"].map(as_date) if d != today})
    if wrong:
        raise ValueError(f"rows for {wrong} cannot go into the history of {today}")
    table = RECOMMENDATIONS.to_arrow(recs.reset_index(drop=True))
    return _history_lake(data_dir).write(HISTORY_ASSET, "date", today.isoformat(), table)


def history_relation(con: duckdb.DuckDBPyConnection,
                     data_dir: str | os.PathLike[str]) -> duckdb.DuckDBPyRelation:
    """Every morning of the history as a DuckDB relation on ``con`` (the ``RECOMMENDATIONS``
    columns); an empty relation with those columns when nothing has been written yet."""
    lake = _history_lake(data_dir)
    if not any(lake.asset_dir(HISTORY_ASSET).glob(f"*/{PART_FILE}")):
        return con.from_arrow(RECOMMENDATIONS.arrow.empty_table())
    # The glob is passed as a value, not SQL text; the date=... folder is not a column.
    return con.read_parquet(history_glob(data_dir), union_by_name=True, hive_partitioning=False)


def read_history(data_dir: str | os.PathLike[str], *, start: dt.date | None = None,
                 end: dt.date | None = None,
                 trader_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """History rows with ``start <= for_date <= end`` (either bound optional), optionally for some
    traders, ordered by for_date then trader_id; dates as ``datetime.date``."""
    con = duckdb.connect()
    try:
        history_relation(con, data_dir).create_view(HISTORY_VIEW)
        where, params = ["TRUE"], []
        if start is not None:
            where.append("for_date >= ?")
            params.append(as_date(start))
        if end is not None:
            where.append("for_date <= ?")
            params.append(as_date(end))
        if trader_ids is not None:
            where.append("list_contains(?, trader_id)")
            params.append(list(trader_ids))
        sql = (f"SELECT * FROM {HISTORY_VIEW} WHERE {' AND '.join(where)} "
               "ORDER BY for_date, trader_id")
        frame = con.execute(sql, params).df()
    finally:
        con.close()
    for col in ("for_date", "trade_date", "model_trained_on"):
        if col in frame:
            frame[col] = frame[col].map(lambda v: None if pd.isna(v) else as_date(v))
    return frame
