"""Activity & execution features: the daily fills aggregates, their EWMAs and rolling baselines,
and execution-quality trends (cost-per-share slope, market-impact trend, liquidity consistency,
execution stress).

All windows are over traded days: a day without fills has no activity to average.
"""

from __future__ import annotations

import numpy as np

from risk_dagster.features.spec import FeatureSpec
from risk_dagster.features.grouped import TraderRows, safe_div

TD = "traded days"

# column -> (unit, description)
ACTIVITY_COLS = {
    "n_orders": ("count", "orders with fills"),
    "n_fills": ("count", "fills"),
    "qty": ("shares", "filled quantity"),
    "notional": ("USD", "traded notional"),
    "n_symbols": ("count", "distinct symbols traded"),
    "n_routes": ("count", "distinct routes used"),
    "avg_order_notional": ("USD", "average order notional"),
    "max_position_notional": ("USD", "largest position notional"),
    "fills_per_order": ("ratio", "fills per order"),
    "n_round_trips": ("count", "round trips"),
}
EXECUTION_COLS = {
    "add_liq_rate": ("fraction", "fills adding liquidity"),
    "remove_liq_rate": ("fraction", "fills removing liquidity"),
    "buy_rate": ("fraction", "buy fills"),
    "first_hour_fill_rate": ("fraction", "fills in the first hour"),
    "last_hour_fill_rate": ("fraction", "fills in the last hour"),
    "price_impact_bps": ("bps", "price impact"),
    "cost_per_share": ("USD/share", "cost per share"),
    "eff_spread_bps": ("bps", "effective spread"),
    "fee_rate_bps": ("bps", "fees over notional"),
    "avg_order_duration_s": ("seconds", "order duration"),
    "rt_win_rate": ("fraction", "winning round trips"),
}
# Ratio features whose contract names differ from the column-derived name.
RATIO_NAMES = {"n_fills": "activity_ratio_21d", "avg_order_notional": "size_ratio_21d"}
STRESS_COLS = ("eff_spread_bps", "price_impact_bps", "cost_per_share")


def ratio_name(col: str) -> str:
    return RATIO_NAMES.get(col, f"{col}_ratio_21d")


def _activity_specs() -> list[FeatureSpec]:
    specs = []
    for c, (unit, desc) in ACTIVITY_COLS.items():
        specs += [
            FeatureSpec(f"{c}_d0", "activity", f"{desc} on D (NaN if not traded)", "D", unit),
            FeatureSpec(f"{c}_ewma_7d", "activity", f"EWMA of {desc}", f"7 {TD}", unit),
            FeatureSpec(f"{c}_ewma_21d", "activity", f"EWMA of {desc}", f"21 {TD}", unit),
            FeatureSpec(f"{c}_mean_21d", "activity", f"mean of {desc}", f"21 {TD}", unit),
            FeatureSpec(f"{c}_std_21d", "activity", f"std of {desc}", f"21 {TD}", unit),
            FeatureSpec(ratio_name(c), "activity", f"{desc} on D / mean over the 21 traded days "
                        "before D", f"21 {TD} before D", "ratio"),
        ]
    return specs


def _execution_specs() -> list[FeatureSpec]:
    specs = []
    for c, (unit, desc) in EXECUTION_COLS.items():
        specs += [
            FeatureSpec(f"{c}_d0", "execution", f"{desc} on D (NaN if not traded)", "D", unit),
            FeatureSpec(f"{c}_ewma_7d", "execution", f"EWMA of {desc}", f"7 {TD}", unit),
            FeatureSpec(f"{c}_mean_21d", "execution", f"mean of {desc}", f"21 {TD}", unit),
            FeatureSpec(f"{c}_std_21d", "execution", f"std of {desc}", f"21 {TD}", unit),
        ]
    ex = "execution"
    return specs + [
        FeatureSpec("cost_per_share_slope_21d", ex, "OLS slope of cost per share per traded day",
                    f"21 {TD}", "USD/share per traded day"),
        FeatureSpec("price_impact_slope_21d", ex, "OLS slope of price impact per traded day",
                    f"21 {TD}", "bps per traded day"),
        FeatureSpec("eff_spread_slope_21d", ex, "OLS slope of effective spread per traded day",
                    f"21 {TD}", "bps per traded day"),
        FeatureSpec("fee_rate_slope_21d", ex, "OLS slope of fee rate per traded day",
                    f"21 {TD}", "bps per traded day"),
        FeatureSpec("market_impact_trend", ex, "EWMA(7) of price impact minus its mean over 63 "
                    "traded days (rising impact > 0)", f"7 vs 63 {TD}", "bps"),
        FeatureSpec("liquidity_consistency_21d", ex, "mean absolute day-to-day change of the "
                    "add-liquidity rate (lower = more consistent)", f"21 {TD}", "fraction"),
        FeatureSpec("execution_stress_d0", ex, "mean z-score of D's effective spread, price "
                    "impact and cost per share vs the 21 traded days before D", "D", "z"),
        FeatureSpec("execution_stress_ewma_7d", ex, "EWMA of execution_stress_d0", f"7 {TD}",
                    "z"),
    ]


SPECS: list[FeatureSpec] = _activity_specs() + _execution_specs()


def _baseline_z(tr: TraderRows, x: np.ndarray, w: int) -> np.ndarray:
    """z-score of the traded-day value vs the trader's ``w`` earlier traded days."""
    return safe_div(x - tr.td_prior(x, w, "mean", 5), tr.td_prior(x, w, "std", 5))


def _execution_trends(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    for col, name in (("cost_per_share", "cost_per_share_slope_21d"),
                      ("price_impact_bps", "price_impact_slope_21d"),
                      ("eff_spread_bps", "eff_spread_slope_21d"),
                      ("fee_rate_bps", "fee_rate_slope_21d")):
        feats[name] = tr.td_slope(tr.traded_col(col), 21)
    impact = tr.traded_col("price_impact_bps")
    feats["market_impact_trend"] = tr.td_ewm(impact, 7) - tr.td_roll(impact, 63, "mean", 5)
    add = tr.traded_col("add_liq_rate")
    change = np.abs(add - tr.td_shift(add))  # vs the previous traded day; NaN if not traded
    feats["liquidity_consistency_21d"] = tr.td_roll(change, 21, "mean", 3)
    zs = np.vstack([_baseline_z(tr, tr.traded_col(c), 21) for c in STRESS_COLS])
    known = (~np.isnan(zs)).sum(axis=0)
    stress = np.where(known > 0, np.nansum(zs, axis=0) / np.maximum(known, 1), np.nan)
    stress = np.where(tr.traded, stress, np.nan)
    feats["execution_stress_d0"] = stress
    feats["execution_stress_ewma_7d"] = tr.td_ewm(stress, 7)


def compute(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    """Add this module's features to ``feats`` (arrays in ``tr`` row order)."""
    for c in ACTIVITY_COLS:
        x = tr.traded_col(c)
        feats[f"{c}_d0"] = x
        feats[f"{c}_ewma_7d"] = tr.td_ewm(x, 7)
        feats[f"{c}_ewma_21d"] = tr.td_ewm(x, 21)
        feats[f"{c}_mean_21d"] = tr.td_roll(x, 21, "mean")
        feats[f"{c}_std_21d"] = tr.td_roll(x, 21, "std", 5)
        feats[ratio_name(c)] = safe_div(x, tr.td_prior(x, 21, "mean", 5))
    for c in EXECUTION_COLS:
        x = tr.traded_col(c)
        feats[f"{c}_d0"] = x
        feats[f"{c}_ewma_7d"] = tr.td_ewm(x, 7)
        feats[f"{c}_mean_21d"] = tr.td_roll(x, 21, "mean")
        feats[f"{c}_std_21d"] = tr.td_roll(x, 21, "std", 5)
    _execution_trends(tr, feats)
