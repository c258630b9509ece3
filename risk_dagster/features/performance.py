"""Performance & risk features: P&L level, volatility, ratios, streaks, drawdowns, large losses.

"traded days" windows run over the trader's traded rows only (a day without fills has no P&L);
"sessions" windows run over the trader's roster rows. Large losses use the point-in-time
threshold of ``risk_dagster.features.thresholds`` (data strictly before each day).
"""

from __future__ import annotations

import numpy as np

from risk_dagster.features.spec import FeatureSpec
from risk_dagster.features.grouped import TraderRows, safe_div, streak
from risk_dagster.features.thresholds import thresholds_for

CAT = "performance"
TD = "traded days"


def _s(name: str, description: str, window: str, unit: str) -> FeatureSpec:
    return FeatureSpec(name, CAT, description, window, unit)


SPECS: list[FeatureSpec] = [
    _s("net_pnl_d0", "net P&L of D (NaN if not traded)", "D", "USD"),
    _s("gross_pnl_d0", "gross realized P&L of D (NaN if not traded)", "D", "USD"),
    _s("fees_d0", "fees of D (NaN if not traded)", "D", "USD"),
    _s("unrealized_delta_d0", "change in unrealized P&L on D (may be known on a non-traded day)",
       "D", "USD"),
    _s("total_pnl_d0", "net + unrealized P&L of D", "D", "USD"),
    _s("traded_d0", "1 if the trader had fills on D, else 0", "D", "0/1"),
    *[_s(f"pnl_ewma_{w}d", f"EWMA of net P&L, span {w} traded days", f"{w} {TD}", "USD")
      for w in (3, 7, 21)],
    *[_s(f"pnl_mean_{w}d", "mean net P&L", f"{w} {TD}", "USD") for w in (5, 21, 63)],
    *[_s(f"pnl_vol_{w}d", "std of net P&L", f"{w} {TD}", "USD") for w in (5, 21, 63)],
    *[_s(f"downside_dev_{w}d", "root mean square of losses (gains count as 0)", f"{w} {TD}", "USD")
      for w in (21, 63)],
    *[_s(f"sortino_{w}d", "mean net P&L / downside deviation", f"{w} {TD}", "ratio")
      for w in (21, 63)],
    *[_s(f"sharpe_{w}d", "mean net P&L / std of net P&L (daily, not annualized)", f"{w} {TD}",
         "ratio") for w in (21, 63)],
    *[_s(f"profit_factor_{w}d", "sum of gains / |sum of losses| (NaN without a loss)",
         f"{w} {TD}", "ratio") for w in (21, 63)],
    *[_s(f"win_rate_{w}d", "fraction of traded days with net P&L > 0", f"{w} {TD}", "fraction")
      for w in (5, 21, 63)],
    *[_s(f"avg_win_{w}d", "mean net P&L of winning days", f"{w} {TD}", "USD") for w in (21, 63)],
    *[_s(f"avg_loss_{w}d", "mean net P&L of losing days (negative)", f"{w} {TD}", "USD")
      for w in (21, 63)],
    _s("win_loss_ratio_21d", "avg_win_21d / |avg_loss_21d|", f"21 {TD}", "ratio"),
    _s("loss_streak", "consecutive losing traded days ending at D's last traded day",
       "streak", "traded days"),
    _s("win_streak", "consecutive winning traded days ending at D's last traded day",
       "streak", "traded days"),
    _s("max_loss_streak_63d", "longest loss streak", f"63 {TD}", "traded days"),
    *[_s(f"cum_pnl_{w}d", "sum of net P&L (NaN if no traded day)", f"{w} sessions", "USD")
      for w in (5, 21, 63)],
    *[_s(f"drawdown_{w}d", "peak of cumulative net P&L over the window (including its starting "
         "level) minus cumulative net P&L at D", f"{w} sessions", "USD") for w in (21, 63)],
    _s("drawdown_from_peak", "all-time peak of cumulative net P&L minus its level at D",
       "expanding", "USD"),
    _s("drawdown_max_63d", "largest drawdown_from_peak seen", "63 sessions", "USD"),
    *[_s(f"pnl_z_{w}d", "z-score of D's net P&L vs the trader's earlier traded days",
         f"{w} {TD} before D", "z") for w in (21, 63)],
    _s("pnl_z_all", "z-score of D's net P&L vs all the trader's earlier traded days",
       "expanding before D", "z"),
    _s("pnl_skew_63d", "skewness of net P&L", f"63 {TD}", "ratio"),
    _s("large_loss_threshold", "point-in-time large-loss threshold for D (data before D)",
       "expanding before D", "USD"),
    _s("pnl_vs_threshold_d0", "net_pnl_d0 / |large_loss_threshold|", "D", "ratio"),
    _s("large_loss_d0", "1 if D's net P&L is below its threshold (NaN if not traded or unknown)",
       "D", "0/1"),
    *[_s(f"large_losses_{w}d", "large-loss days (NaN if a traded day in the window had no "
         "threshold)", f"{w} sessions", "count") for w in (5, 21, 63)],
    _s("days_since_large_loss", "sessions since the last large-loss day (0 = D; NaN if none)",
       "expanding", "sessions"),
    _s("intraday_max_drawdown_d0", "intraday max drawdown of D", "D", "USD"),
    _s("intraday_dd_ewma_7d", "EWMA of intraday max drawdown", f"7 {TD}", "USD"),
    _s("intraday_dd_vs_vol_d0", "intraday max drawdown of D / pnl_vol_21d before D", "D", "ratio"),
    _s("tenure_sessions", "roster sessions so far including D", "expanding", "sessions"),
    _s("traded_days_total", "traded days so far including D", "expanding", "traded days"),
    _s("traded_rate_21d", "fraction of roster sessions with fills", "21 sessions", "fraction"),
    _s("sessions_since_trade", "sessions since the last traded day (0 if D traded)", "expanding",
       "sessions"),
]


def _drawdowns(tr: TraderRows, pnl: np.ndarray, out: dict[str, np.ndarray]) -> None:
    # A non-traded day adds nothing to cumulative P&L: that 0 is a fact, not a missing value.
    inc = np.where(np.isnan(pnl), 0.0, pnl)
    cum = tr.cumsum(inc)
    before = cum - inc  # level at the start of each day (0 before the first row)
    for w in (21, 63):
        peak = np.fmax(tr.roll(cum, w, "max"), tr.roll(before, w, "max"))
        out[f"drawdown_{w}d"] = peak - cum
    peak_all = np.fmax(tr.expanding(cum, "max"), tr.expanding(before, "max"))
    out["drawdown_from_peak"] = peak_all - cum
    out["drawdown_max_63d"] = tr.roll(out["drawdown_from_peak"], 63, "max")


def _large_losses(tr: TraderRows, pnl: np.ndarray, thr: np.ndarray,
                  out: dict[str, np.ndarray]) -> np.ndarray:
    judged = tr.traded & ~np.isnan(thr) & ~np.isnan(pnl)
    ll_d0 = np.where(judged, (pnl < thr).astype(float), np.nan)
    # A non-traded session is not a large-loss day (counts 0); a traded day that could not be
    # judged (no threshold yet) makes the window's count unknown.
    ll_count = np.where(judged, ll_d0, 0.0)
    unjudged = (tr.traded & ~judged).astype(float)
    out["large_loss_threshold"] = thr
    out["pnl_vs_threshold_d0"] = safe_div(pnl, np.abs(thr))
    out["large_loss_d0"] = ll_d0
    for w in (5, 21, 63):
        count = tr.roll(ll_count, w, "sum")
        out[f"large_losses_{w}d"] = np.where(tr.roll(unjudged, w, "sum") > 0, np.nan, count)
    last_ll = tr.ffill(np.where(ll_d0 == 1, tr.session, np.nan))
    out["days_since_large_loss"] = tr.session - last_ll
    return ll_d0


def _ratios(tr: TraderRows, pnl: np.ndarray, out: dict[str, np.ndarray]) -> None:
    known = ~np.isnan(pnl)
    gains = np.where(known, np.maximum(pnl, 0.0), np.nan)
    losses = np.where(known, np.minimum(pnl, 0.0), np.nan)
    for w in (21, 63):
        mean, vol = out[f"pnl_mean_{w}d"], out[f"pnl_vol_{w}d"]
        dd = np.sqrt(tr.td_roll(losses * losses, w, "mean", 5))
        out[f"downside_dev_{w}d"] = dd
        out[f"sortino_{w}d"] = safe_div(mean, dd)
        out[f"sharpe_{w}d"] = safe_div(mean, vol)
        out[f"profit_factor_{w}d"] = safe_div(tr.td_roll(gains, w, "sum", 5),
                                              -tr.td_roll(losses, w, "sum", 5))
    win = np.where(known, (pnl > 0).astype(float), np.nan)
    for w in (5, 21, 63):
        out[f"win_rate_{w}d"] = tr.td_roll(win, w, "mean")
    for w in (21, 63):
        out[f"avg_win_{w}d"] = tr.td_roll(np.where(pnl > 0, pnl, np.nan), w, "mean")
        out[f"avg_loss_{w}d"] = tr.td_roll(np.where(pnl < 0, pnl, np.nan), w, "mean")
    out["win_loss_ratio_21d"] = safe_div(out["avg_win_21d"], -out["avg_loss_21d"])


def _streaks(tr: TraderRows, pnl: np.ndarray, out: dict[str, np.ndarray]) -> None:
    sub, codes = tr.td_series(pnl)
    loss = streak(sub < 0, codes)
    out["loss_streak"] = tr.carry(loss)
    out["win_streak"] = tr.carry(streak(sub > 0, codes))
    out["max_loss_streak_63d"] = tr.td_roll(tr.carry(loss), 63, "max")


def _skew(tr: TraderRows, x: np.ndarray, w: int, min_periods: int) -> np.ndarray:
    """Bias-adjusted sample skewness over traded days, from rolling raw moments (pandas' own
    rolling skew centres on the mean of the whole column, which is not point-in-time)."""
    n = tr.td_roll(x, w, "count", min_periods)
    m1, m2, m3 = (tr.td_roll(x ** k, w, "mean", min_periods) for k in (1, 2, 3))
    var = m2 - m1 * m1
    m3c = m3 - 3 * m1 * m2 + 2 * m1 ** 3
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(var > 1e-12 * m2, m3c / var ** 1.5, np.nan)
        return g * np.sqrt(n * (n - 1)) / (n - 2)


def compute(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    """Add this module's features to ``feats`` (arrays in ``tr`` row order)."""
    pnl = tr.traded_col("net_pnl")
    feats["net_pnl_d0"] = pnl
    for c in ("gross_pnl", "fees"):
        feats[f"{c}_d0"] = tr.traded_col(c)
    feats["unrealized_delta_d0"] = tr.col("unrealized_delta")
    feats["total_pnl_d0"] = tr.col("total_pnl")
    feats["traded_d0"] = tr.traded.astype(float)
    for w in (3, 7, 21):
        feats[f"pnl_ewma_{w}d"] = tr.td_ewm(pnl, w)
    for w in (5, 21, 63):
        feats[f"pnl_mean_{w}d"] = tr.td_roll(pnl, w, "mean")
        feats[f"pnl_vol_{w}d"] = tr.td_roll(pnl, w, "std", min(w, 5))
    _ratios(tr, pnl, feats)
    _streaks(tr, pnl, feats)
    for w in (5, 21, 63):
        feats[f"cum_pnl_{w}d"] = tr.roll(pnl, w, "sum")
    _drawdowns(tr, pnl, feats)
    for w, key in ((21, "pnl_z_21d"), (63, "pnl_z_63d"), (None, "pnl_z_all")):
        mu, sd = tr.td_prior(pnl, w, "mean", 5), tr.td_prior(pnl, w, "std", 5)
        feats[key] = safe_div(pnl - mu, sd)
    feats["pnl_skew_63d"] = _skew(tr, pnl, 63, 10)
    thr = thresholds_for(tr)["threshold"]
    feats["_large_loss"] = _large_losses(tr, pnl, thr, feats)
    idd = tr.traded_col("intraday_max_drawdown")
    feats["intraday_max_drawdown_d0"] = idd
    feats["intraday_dd_ewma_7d"] = tr.td_ewm(idd, 7)
    feats["intraday_dd_vs_vol_d0"] = safe_div(idd, tr.td_prior(pnl, 21, "std", 5))
    feats["tenure_sessions"] = tr.expanding(np.ones(tr.n), "count")
    feats["traded_days_total"] = tr.cumsum(tr.traded.astype(float))
    feats["traded_rate_21d"] = tr.roll(tr.traded.astype(float), 21, "mean")
    last_trade = tr.ffill(np.where(tr.traded, tr.session, np.nan))
    feats["sessions_since_trade"] = tr.session - last_trade
