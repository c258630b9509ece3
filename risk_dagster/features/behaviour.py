"""Behaviour features: revenge trading, overtrading, size escalation after gains or losses,
late-session activity, the disposition effect and breaks from routine (new symbols, unusual
hours), each measured against the trader's own earlier traded days.
"""

from __future__ import annotations

import numpy as np

from risk_dagster.features.spec import FeatureSpec
from risk_dagster.features.grouped import TraderRows, safe_div

CAT = "behaviour"
TD = "traded days"

# column -> (unit, description)
BEHAVIOUR_COLS = {
    "trades_after_loss": ("count", "trades right after a losing round trip"),
    "size_after_loss_ratio": ("ratio", "order size after a loss / before"),
    "reentry_time_after_loss_s": ("seconds", "time to re-enter after a loss"),
    "size_escalation": ("relative", "slope of order size over the day"),
    "hold_time_losers_s": ("seconds", "holding time of losing round trips"),
    "hold_time_winners_s": ("seconds", "holding time of winning round trips"),
    "first_fill_frac": ("fraction", "time of the first fill in the session"),
    "last_fill_frac": ("fraction", "time of the last fill in the session"),
    "time_of_low_frac": ("fraction", "time of the intraday P&L low in the session"),
}
ROUTINE_COLS = ("first_fill_frac", "last_fill_frac", "n_symbols", "n_routes")
REVENGE_RATIO = 1.5  # activity above 1.5x the baseline the day after a large loss
OVERTRADING_RATIO = 2.0


def _s(name: str, description: str, window: str, unit: str) -> FeatureSpec:
    return FeatureSpec(name, CAT, description, window, unit)


def _specs() -> list[FeatureSpec]:
    specs = []
    for c, (unit, desc) in BEHAVIOUR_COLS.items():
        specs += [
            _s(f"{c}_d0", f"{desc} on D (NaN if not traded)", "D", unit),
            _s(f"{c}_ewma_7d", f"EWMA of {desc}", f"7 {TD}", unit),
            _s(f"{c}_dev_21d", f"{desc} on D minus its mean over the 21 traded days before D",
               f"21 {TD} before D", unit),
        ]
    return specs + [
        _s("prev_large_loss", "1 if the trader's previous traded day was a large loss", "D-1",
           "0/1"),
        _s("revenge_activity_d0", "activity_ratio_21d if the previous traded day was a large "
           "loss, else 0", "D", "ratio"),
        _s("revenge_size_d0", "size_ratio_21d if the previous traded day was a large loss, "
           "else 0", "D", "ratio"),
        _s("revenge_position_d0", "max position notional / its 21-day baseline if the previous "
           "traded day was a large loss, else 0", "D", "ratio"),
        _s("revenge_episodes_63d", f"traded days after a large loss with activity above "
           f"{REVENGE_RATIO}x baseline", f"63 {TD}", "count"),
        _s("overtrading_ratio_63d", "orders on D / mean orders over the 63 traded days before D",
           f"63 {TD} before D", "ratio"),
        _s("overtrading_days_21d", f"traded days with orders above {OVERTRADING_RATIO}x the "
           "63-day baseline", f"21 {TD}", "count"),
        _s("size_change_d0", "avg order notional on D / on the previous traded day - 1", "D",
           "fraction"),
        _s("size_after_gain_d0", "size_change_d0 when the previous traded day was a gain "
           "(NaN otherwise)", "D", "fraction"),
        _s("size_after_loss_d0", "size_change_d0 when the previous traded day was a loss "
           "(NaN otherwise)", "D", "fraction"),
        _s("size_escalation_vs_pnl_21d", "mean of size_change x sign(previous day's P&L): > 0 "
           "sizes up after gains, < 0 after losses", f"21 {TD}", "fraction"),
        _s("late_session_shift_d0", "last-hour fill rate on D minus its 21-day baseline", "D",
           "fraction"),
        _s("disposition_d0", "log(hold time of losers / hold time of winners) on D", "D",
           "log ratio"),
        _s("disposition_ewma_21d", "EWMA of disposition_d0", f"21 {TD}", "log ratio"),
        _s("symbols_vs_baseline_63d", "symbols traded on D / mean over the 63 traded days "
           "before D", f"63 {TD} before D", "ratio"),
        _s("unusual_hours_d0", "|z| of first fill time + |z| of last fill time vs the 21 "
           "traded days before D", "D", "z"),
        _s("routine_break_d0", "mean |z| of first/last fill time, symbols and routes vs the 21 "
           "traded days before D", "D", "z"),
    ]


SPECS: list[FeatureSpec] = _specs()


def _z_prior(tr: TraderRows, x: np.ndarray, w: int) -> np.ndarray:
    return safe_div(x - tr.td_prior(x, w, "mean", 5), tr.td_prior(x, w, "std", 5))


def _nanmean_rows(stack: np.ndarray) -> np.ndarray:
    known = (~np.isnan(stack)).sum(axis=0)
    return np.where(known > 0, np.nansum(stack, axis=0) / np.maximum(known, 1), np.nan)


def _revenge(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    prev_ll = tr.td_shift(feats["_large_loss"])
    prev_ll = np.where(tr.traded, prev_ll, np.nan)  # the condition applies to a trading day
    feats["prev_large_loss"] = prev_ll
    pos = tr.traded_col("max_position_notional")
    pos_ratio = safe_div(pos, tr.td_prior(pos, 21, "mean", 5))
    feats["revenge_activity_d0"] = feats["activity_ratio_21d"] * prev_ll
    feats["revenge_size_d0"] = feats["size_ratio_21d"] * prev_ll
    feats["revenge_position_d0"] = pos_ratio * prev_ll
    episode = np.where(np.isnan(feats["revenge_activity_d0"]), np.nan,
                       (feats["revenge_activity_d0"] > REVENGE_RATIO).astype(float))
    feats["revenge_episodes_63d"] = tr.td_roll(episode, 63, "sum")


def _sizing(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    orders = tr.traded_col("n_orders")
    over = safe_div(orders, tr.td_prior(orders, 63, "mean", 5))
    feats["overtrading_ratio_63d"] = over
    flag = np.where(np.isnan(over), np.nan, (over > OVERTRADING_RATIO).astype(float))
    feats["overtrading_days_21d"] = tr.td_roll(flag, 21, "sum")
    size = tr.traded_col("avg_order_notional")
    change = safe_div(size, tr.td_shift(size)) - 1.0
    change = np.where(tr.traded, change, np.nan)
    prev_pnl = tr.td_shift(tr.traded_col("net_pnl"))
    feats["size_change_d0"] = change
    feats["size_after_gain_d0"] = np.where(prev_pnl > 0, change, np.nan)
    feats["size_after_loss_d0"] = np.where(prev_pnl < 0, change, np.nan)
    feats["size_escalation_vs_pnl_21d"] = tr.td_roll(change * np.sign(prev_pnl), 21, "mean", 5)


def _routine(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    late = tr.traded_col("last_hour_fill_rate")
    feats["late_session_shift_d0"] = late - tr.td_prior(late, 21, "mean", 5)
    with np.errstate(invalid="ignore", divide="ignore"):
        disp = np.log(safe_div(tr.traded_col("hold_time_losers_s"),
                               tr.traded_col("hold_time_winners_s")))
    disp = np.where(np.isfinite(disp), disp, np.nan)
    feats["disposition_d0"] = disp
    feats["disposition_ewma_21d"] = tr.td_ewm(disp, 21)
    symbols = tr.traded_col("n_symbols")
    feats["symbols_vs_baseline_63d"] = safe_div(symbols, tr.td_prior(symbols, 63, "mean", 5))
    z = {c: np.abs(_z_prior(tr, tr.traded_col(c), 21)) for c in ROUTINE_COLS}
    feats["unusual_hours_d0"] = z["first_fill_frac"] + z["last_fill_frac"]
    feats["routine_break_d0"] = _nanmean_rows(np.vstack(list(z.values())))


def compute(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    """Add this module's features to ``feats``; needs the performance and activity features."""
    for c in BEHAVIOUR_COLS:
        x = tr.traded_col(c)
        feats[f"{c}_d0"] = x
        feats[f"{c}_ewma_7d"] = tr.td_ewm(x, 7)
        feats[f"{c}_dev_21d"] = x - tr.td_prior(x, 21, "mean", 5)
    _revenge(tr, feats)
    _sizing(tr, feats)
    _routine(tr, feats)
