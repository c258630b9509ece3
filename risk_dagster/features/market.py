"""Market-regime features: realized volatility and trend of the trader's traded symbols, the
firm as a whole (cross-trader aggregates per date) and the dispersion across traders.

Firm-wide values of date D use only panel rows of D and earlier dates: a per-date aggregate,
then windows over the sequence of panel dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.features.spec import FeatureSpec
from risk_dagster.features.grouped import TraderRows, safe_div

CAT = "market"
TD = "traded days"
MARKET_COLS = {
    "traded_symbols_abs_return": "notional-weighted |close/open - 1| of the traded symbols",
    "traded_symbols_range": "notional-weighted (high - low) / open of the traded symbols",
}
# name -> (column, per-date statistic, unit, description)
FIRM_DAILY = {
    "firm_pnl_mean": ("net_pnl", "mean", "USD", "mean net P&L of the traders who traded"),
    "firm_pnl_median": ("net_pnl", "median", "USD", "median net P&L of the traders who traded"),
    "firm_pnl_dispersion": ("net_pnl", "std", "USD", "std of net P&L across traders"),
    "firm_traded_frac": ("_traded", "mean", "fraction", "fraction of the roster that traded"),
    "firm_loss_frac": ("_loss", "mean", "fraction", "fraction of traders who traded at a loss"),
    "firm_range_mean": ("traded_symbols_range", "mean", "fraction",
                        "mean traded-symbols range across traders"),
    "firm_abs_return_mean": ("traded_symbols_abs_return", "mean", "fraction",
                             "mean traded-symbols |return| across traders"),
    "firm_intraday_dd_median": ("intraday_max_drawdown", "median", "USD",
                                "median intraday max drawdown across traders"),
    "firm_n_fills_mean": ("n_fills", "mean", "count", "mean fills per trader who traded"),
    "firm_large_loss_frac": ("_large_loss", "mean", "fraction",
                             "fraction of judged traders with a large loss"),
}
# name -> (daily feature, kind, window in dates, unit, description)
FIRM_WINDOWED = {
    "firm_pnl_mean_ewma_5d": ("firm_pnl_mean", "ewm", 5, "USD", "EWMA of firm mean P&L"),
    "firm_pnl_vol_21d": ("firm_pnl_mean", "std", 21, "USD", "std of firm mean P&L over dates"),
    "firm_range_ewma_5d": ("firm_range_mean", "ewm", 5, "fraction", "EWMA of firm range"),
    "firm_range_ewma_21d": ("firm_range_mean", "ewm", 21, "fraction", "EWMA of firm range"),
    "firm_dispersion_ewma_5d": ("firm_pnl_dispersion", "ewm", 5, "USD",
                                "EWMA of cross-trader P&L dispersion"),
    "firm_loss_frac_ewma_5d": ("firm_loss_frac", "ewm", 5, "fraction",
                               "EWMA of the fraction of losing traders"),
    "firm_large_loss_frac_ewma_5d": ("firm_large_loss_frac", "ewm", 5, "fraction",
                                     "EWMA of the fraction of large-loss traders"),
}


def _specs() -> list[FeatureSpec]:
    specs = []
    for c, desc in MARKET_COLS.items():
        specs += [
            FeatureSpec(f"{c}_d0", CAT, f"{desc} on D (NaN if not traded)", "D", "fraction"),
            FeatureSpec(f"{c}_ewma_7d", CAT, f"EWMA of {desc}", f"7 {TD}", "fraction"),
            FeatureSpec(f"{c}_ewma_21d", CAT, f"EWMA of {desc}", f"21 {TD}", "fraction"),
            FeatureSpec(f"{c}_mean_63d", CAT, f"mean of {desc}", f"63 {TD}", "fraction"),
            FeatureSpec(f"{c}_std_21d", CAT, f"std of {desc}", f"21 {TD}", "fraction"),
        ]
    specs += [
        FeatureSpec("mkt_vol_regime", CAT, "EWMA(7) of traded-symbols range / its mean over the "
                    "63 traded days before D (> 1: more volatile than usual)", f"7 vs 63 {TD}",
                    "ratio"),
        FeatureSpec("mkt_range_slope_21d", CAT, "OLS slope of traded-symbols range per traded "
                    "day", f"21 {TD}", "fraction per traded day"),
    ]
    specs += [FeatureSpec(n, CAT, f"{d} on D", "D (all traders)", u)
              for n, (_, _, u, d) in FIRM_DAILY.items()]
    specs += [FeatureSpec(n, CAT, d, f"{w} dates (all traders)", u)
              for n, (_, _, w, u, d) in FIRM_WINDOWED.items()]
    return specs + [
        FeatureSpec("firm_vol_regime", CAT, "firm_range_ewma_5d / mean firm range over the 63 "
                    "dates before D (> 1: volatile regime)", "5 vs 63 dates", "ratio"),
        FeatureSpec("pnl_rank_firm_d0", CAT, "percentile rank of D's net P&L among traders "
                    "who traded D", "D (all traders)", "fraction"),
        FeatureSpec("pnl_vs_firm_median_d0", CAT, "net P&L on D minus the firm median",
                    "D (all traders)", "USD"),
        FeatureSpec("activity_rank_firm_d0", CAT, "percentile rank of D's fills among traders "
                    "who traded D", "D (all traders)", "fraction"),
    ]


SPECS: list[FeatureSpec] = _specs()


def _windowed(values: np.ndarray, kind: str, w: int) -> np.ndarray:
    s = pd.Series(values)
    if kind == "ewm":
        return s.ewm(span=w, min_periods=1, ignore_na=True).mean().to_numpy()
    return s.rolling(w, min_periods=5).agg(kind).to_numpy()


def _firm(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    pnl = tr.traded_col("net_pnl")
    extra = {"_traded": tr.traded.astype(float),
             "_loss": np.where(np.isnan(pnl), np.nan, (pnl < 0).astype(float)),
             "_large_loss": feats["_large_loss"]}
    daily = {}
    for name, (col, stat, _, _) in FIRM_DAILY.items():
        x = extra[col] if col in extra else tr.traded_col(col)
        daily[name] = tr.by_date(x, stat)
        feats[name] = tr.at_date(daily[name])
    for name, (src, kind, w, _, _) in FIRM_WINDOWED.items():
        daily[name] = _windowed(daily[src], kind, w)
        feats[name] = tr.at_date(daily[name])
    base = pd.Series(daily["firm_range_mean"]).rolling(63, min_periods=5).mean().shift(1)
    feats["firm_vol_regime"] = tr.at_date(safe_div(daily["firm_range_ewma_5d"], base.to_numpy()))
    feats["pnl_rank_firm_d0"] = tr.rank_in_date(pnl)
    feats["pnl_vs_firm_median_d0"] = pnl - feats["firm_pnl_median"]
    feats["activity_rank_firm_d0"] = tr.rank_in_date(tr.traded_col("n_fills"))


def compute(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    """Add this module's features to ``feats``; needs the performance features."""
    for c in MARKET_COLS:
        x = tr.traded_col(c)
        feats[f"{c}_d0"] = x
        feats[f"{c}_ewma_7d"] = tr.td_ewm(x, 7)
        feats[f"{c}_ewma_21d"] = tr.td_ewm(x, 21)
        feats[f"{c}_mean_63d"] = tr.td_roll(x, 63, "mean")
        feats[f"{c}_std_21d"] = tr.td_roll(x, 21, "std", 5)
    rng = tr.traded_col("traded_symbols_range")
    feats["mkt_vol_regime"] = safe_div(tr.td_ewm(rng, 7), tr.td_prior(rng, 63, "mean", 5))
    feats["mkt_range_slope_21d"] = tr.td_slope(rng, 21)
    _firm(tr, feats)
