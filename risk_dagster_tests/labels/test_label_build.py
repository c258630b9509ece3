"""risk_labels: next traded session, statuses, events against their thresholds, balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from risk_dagster.labels import build_labels, large_loss_thresholds
from risk_dagster_tests.features.conftest import hand_panel
from risk_dagster_tests.factories import make_panel


def test_next_session_and_status_by_hand():
    pnl = [10, -20, None, None, 30] + [None] * 12  # sessions 0..16, last trade at 4
    lab = build_labels(hand_panel(pnl), max_gap_sessions=3)
    dates = lab["trade_date"]
    assert lab.loc[0, "label_date"] == dates[1] and lab.loc[0, "next_net_pnl"] == -20
    assert lab.loc[1, "label_date"] == dates[4] and lab.loc[1, "next_net_pnl"] == 30  # gap 3
    assert lab.loc[2, "label_date"] == dates[4]
    status = lab["label_status"].tolist()
    assert status[:4] == ["complete"] * 4
    assert status[4:14] == ["no_next_trade"] * 10  # 3 sessions after D are known, no trade
    assert status[14:] == ["pending"] * 3  # fewer than 3 sessions after D ingested yet
    assert lab.loc[4:, "next_net_pnl"].isna().all() and lab.loc[4:, "label_date"].isna().all()
    assert lab.loc[0, "large_loss"] is pd.NA  # no history before D: threshold unknown
    tight = build_labels(hand_panel(pnl), max_gap_sessions=2)
    assert tight.loc[1, "label_status"] == "no_next_trade"  # gap 3 > 2


def test_events_follow_their_thresholds():
    panel = make_panel(8, 150, seed=2)
    lab = build_labels(panel)
    thr = large_loss_thresholds(panel)
    assert_allclose(lab["large_loss_threshold"], thr["threshold"])
    assert str(lab["large_loss"].dtype) == "Int8" and str(lab["dd_breach"].dtype) == "Int8"
    done = lab[lab["large_loss"].notna()]
    assert (done["label_status"] == "complete").all()
    assert ((done["next_net_pnl"] < done["large_loss_threshold"]).astype(int)
            == done["large_loss"].astype(int)).all()
    assert lab.loc[lab["label_status"] != "complete", ["large_loss", "dd_breach"]].isna().all().all()


def test_dd_threshold_uses_trader_std_before_d():
    panel = make_panel(4, 120, seed=4)
    lab = build_labels(panel)
    thr = large_loss_thresholds(panel)
    own = lab[thr["method"] == "trader"].sample(20, random_state=0)
    for _, row in own.iterrows():
        hist = panel[(panel["trader_id"] == row["trader_id"]) & panel["traded"]
                     & (panel["trade_date"] < row["trade_date"])]["net_pnl"]
        assert_allclose(row["dd_threshold"], 3 * hist.std(ddof=1))
    nxt = panel.set_index(["trade_date", "trader_id"])["intraday_max_drawdown"]
    done = lab[lab["dd_breach"].notna()]
    next_dd = nxt.loc[list(zip(done["label_date"], done["trader_id"]))].to_numpy()
    assert ((next_dd > done["dd_threshold"].to_numpy()).astype(int)
            == done["dd_breach"].astype(int).to_numpy()).all()


def test_firm_z_fallback_by_direct_computation():
    panel = make_panel(6, 90, seed=8).sort_values(["trader_id", "trade_date"])
    traded = panel[panel["traded"]].copy()
    traded["vol"] = traded.groupby("trader_id")["net_pnl"].transform(
        lambda s: s.expanding(5).std().shift(1))
    traded["z"] = traded["net_pnl"] / traded["vol"]
    thr = large_loss_thresholds(panel)
    fallback = thr[thr["method"] == "firm_z"]
    assert len(fallback) > 0
    for _, row in fallback.sample(min(10, len(fallback)), random_state=1).iterrows():
        pool = traded.loc[(traded["trade_date"] < row["trade_date"]), "z"].dropna()
        mine = traded[(traded["trader_id"] == row["trader_id"])
                      & (traded["trade_date"] < row["trade_date"])]["net_pnl"]
        expected = min(np.quantile(pool, 0.10) * mine.std(ddof=1), 0.0)
        assert_allclose(row["threshold"], expected, rtol=1e-9)


def test_large_loss_rate_is_not_degenerate():
    lab = build_labels(make_panel(30, 250, seed=9))
    done = lab[lab["label_status"] == "complete"]
    rate = done["large_loss"].mean()
    assert 0.05 <= rate <= 0.20, rate
    assert 0.0 < done["dd_breach"].mean() < 0.5
    assert done["large_loss"].notna().mean() > 0.9
