"""Cross features: products and ratios of the other categories that a tree finds only with many
splits (a loss streak in a volatile market, a drawdown with rising activity...)."""

from __future__ import annotations

import numpy as np

from risk_dagster.features.spec import FeatureSpec
from risk_dagster.features.grouped import TraderRows, safe_div

# name -> (description, unit, function of the feature dict)
CROSS = {
    "loss_streak_x_vol_regime": ("loss_streak x firm_vol_regime", "traded days",
                                 lambda f: f["loss_streak"] * f["firm_vol_regime"]),
    "loss_streak_x_mkt_regime": ("loss_streak x mkt_vol_regime", "traded days",
                                 lambda f: f["loss_streak"] * f["mkt_vol_regime"]),
    "drawdown_21d_norm": ("drawdown_21d / pnl_vol_21d", "ratio",
                          lambda f: safe_div(f["drawdown_21d"], f["pnl_vol_21d"])),
    "drawdown_norm_x_activity": ("drawdown_21d_norm x activity_ratio_21d", "ratio",
                                 lambda f: f["drawdown_21d_norm"] * f["activity_ratio_21d"]),
    "large_losses_5d_x_size": ("large_losses_5d x size_ratio_21d", "count",
                               lambda f: f["large_losses_5d"] * f["size_ratio_21d"]),
    "revenge_x_vol_regime": ("revenge_activity_d0 x firm_vol_regime", "ratio",
                             lambda f: f["revenge_activity_d0"] * f["firm_vol_regime"]),
    "pnl_z_x_firm_loss_frac": ("pnl_z_21d x firm_loss_frac", "z",
                               lambda f: f["pnl_z_21d"] * f["firm_loss_frac"]),
    "tilt_score": ("loss_streak x activity_ratio_21d x size_ratio_21d", "traded days",
                   lambda f: f["loss_streak"] * f["activity_ratio_21d"] * f["size_ratio_21d"]),
    "threshold_to_vol": ("large_loss_threshold / pnl_vol_21d", "ratio",
                         lambda f: safe_div(f["large_loss_threshold"], f["pnl_vol_21d"])),
    "pnl_momentum_norm": ("(pnl_ewma_3d - pnl_ewma_21d) / pnl_vol_21d", "ratio",
                          lambda f: safe_div(f["pnl_ewma_3d"] - f["pnl_ewma_21d"],
                                             f["pnl_vol_21d"])),
    "intraday_dd_x_vol_regime": ("intraday_dd_vs_vol_d0 x firm_vol_regime", "ratio",
                                 lambda f: f["intraday_dd_vs_vol_d0"] * f["firm_vol_regime"]),
}

SPECS: list[FeatureSpec] = [FeatureSpec(n, "cross", d, "as its inputs", u)
                            for n, (d, u, _) in CROSS.items()]


def compute(tr: TraderRows, feats: dict[str, np.ndarray]) -> None:
    """Add the cross features to ``feats`` (in order: a later one may use an earlier one)."""
    for name, (_, _, fn) in CROSS.items():
        feats[name] = np.asarray(fn(feats), dtype=float)
