"""Every feature of the catalog reads as plain words: a phrase per feature, no formula text."""

from __future__ import annotations

import math

import pytest

from risk_dagster.features import feature_catalog
from risk_dagster.features.phrases import PHRASES, Phrase, formula_marks, render_phrase

# A representative value per format: typical, negative, zero, flag-like, missing.
VALUES = {
    "usd": (6164.0, -6164.0, 0.0, math.nan), "pct": (0.35, -0.12, 0.0, math.nan),
    "pp": (0.12, -0.08, 0.0, math.nan), "x": (1.84, 0.6, 0.0, math.nan),
    "sd": (1.74, -1.74, 0.0, math.nan), "bps": (12.34, -3.2, 0.0, math.nan),
    "duration": (45.0, 750.0, 9000.0, math.nan), "count": (3.0, 1.0, 0.0, math.nan),
    "avg_count": (42.6, 3.4, 0.0, math.nan), "shares": (12000.0, 100.0, 0.0, math.nan),
    "num": (1.83, -0.42, 0.0, math.nan), "flag": (1.0, 0.0, math.nan),
    "usd_per_share": (0.0123, -0.004, 0.0, math.nan),
    "session_share": (0.82, 0.05, 0.0, math.nan),
}


def test_every_catalog_feature_has_a_phrase_and_no_phrase_is_orphaned():
    names = list(feature_catalog()["name"])
    assert len(names) == 259
    assert set(names) == set(PHRASES)
    assert feature_catalog()["phrase"].str.len().gt(0).all()


@pytest.mark.parametrize("name", sorted(PHRASES))
def test_every_phrase_renders_plain_words(name):
    phrase = PHRASES[name]
    for value in VALUES[phrase.fmt]:
        text = render_phrase(name, value)
        assert text and not formula_marks(text), (name, value, text, formula_marks(text))
        assert "0/1" not in text and "nan" not in text.lower().split()


@pytest.mark.parametrize("name,value,expected", [
    ("revenge_size_d0", 1.84, "traded 1.8× the usual size the day after a large loss"),
    ("revenge_size_d0", 0.0, "no large loss the day before"),
    ("large_losses_5d", 3.0, "3 large losses in the last 5 sessions"),
    ("large_losses_5d", 1.0, "1 large loss in the last 5 sessions"),
    ("large_losses_5d", 0.0, "no large loss in the last 5 sessions"),
    ("pnl_momentum_norm", -1.74, "3-day P&L trend 1.7 sd below the 21-day average"),
    ("pnl_z_21d", -1.74, "net P&L 1.7 sd below the trader's 21-day average"),
    ("net_pnl_d0", -6164.2, "lost $6,164 on the last session"),
    ("net_pnl_d0", 812.0, "made $812 on the last session"),
    ("large_loss_d0", 1.0, "a large loss on the last session"),
    ("large_loss_d0", 0.0, "no large loss on the last session"),
    ("large_loss_d0", math.nan,
     "last session not judged for a large loss: no trade or too little history"),
    ("traded_d0", 0.0, "did not trade on the last session"),
    ("prev_large_loss", 1.0, "the previous traded day was a large loss"),
    ("size_ratio_21d", 1.75, "orders 1.8× the trader's usual size"),
    ("activity_ratio_21d", 2.4, "traded 2.4× the trader's usual number of fills"),
    ("drawdown_21d", 4310.4, "down $4,310 from the 21-session peak"),
    ("loss_streak", 5.0, "5 losing days in a row"),
    ("days_since_large_loss", 0.0, "a large loss on the last session"),
    ("days_since_large_loss", 3.0, "last large loss 3 sessions ago"),
    ("days_since_large_loss", math.nan, "no large loss on record"),
    ("win_rate_21d", 0.381, "won on 38% of the last 21 traded days"),
    ("pnl_vol_21d", 1250.0, "daily P&L swinging by $1,250, 21-day sd"),
    ("hold_time_losers_s_dev_21d", 750.0,
     "holding time of losing trades 12 min above the trader's 21-day average"),
    ("eff_spread_bps_ewma_7d", 3.21, "effective spread of 3.2 bps, 7-day weighted average"),
    ("buy_rate_std_21d", 0.12, "share of buys varying by 12 percentage points from day to day, "
                               "21-day sd"),
    ("firm_loss_frac", 0.625, "62% of the firm's traders lost money"),
    ("n_orders_d0", math.nan, "no orders on the last session"),
    ("cost_per_share_d0", 0.0123, "cost of $0.0123 per share on the last session"),
])
def test_phrases_read_as_the_desk_says_them(name, value, expected):
    assert render_phrase(name, value) == expected


def test_formula_marks_catch_the_old_reasons():
    for old in ["(pnl_ewma_3d - pnl_ewma_21d) / pnl_vol_21d: -1.74 ratio",
                "size_ratio_21d if the previous traded day was a large loss, else 0: 1.24 ratio",
                "1 if D's net P&L is below its threshold (NaN if not traded or unknown): 1.00 0/1",
                "['lost $5 on the last day', 'x']", "loss_streak x firm_vol_regime: 2.1",
                "fills/order at nan"]:
        assert formula_marks(old), old
    assert formula_marks("lost $6,164 on the last session, above the $5,000 kill switch") == []


def test_a_flag_never_reads_as_a_number():
    flag = Phrase("flagged", "flagged", zero="not flagged", fmt="flag")
    assert [flag.render(v) for v in (1.0, 0.0, math.nan)] == ["flagged", "not flagged",
                                                             "flagged unknown"]
