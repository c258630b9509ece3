"""Behaviour of the simulated firm: join/leave, skill, tilt, the oracle, injected changes, 24/7."""

import datetime as dt

import pandas as pd
from sklearn.metrics import roc_auc_score

from risk_dagster.core.calendar import sessions
from risk_dagster.simulator import InjectedChange, SimulationConfig, simulate


def test_join_and_leave_leave_no_rows_outside_tenure(firm):
    _, totals, truth = firm
    days = sessions("XNYS", dt.date(2024, 1, 2), dt.date(2024, 6, 28)).date
    span = truth.groupby("trader_id").trade_date.agg(["min", "max", "size"])
    pos = {d: i for i, d in enumerate(days)}
    # truth rows of a trader cover every session of its tenure, without gaps
    assert ((span["max"].map(pos) - span["min"].map(pos) + 1) == span["size"]).all()
    assert (span["min"] > days[0]).any() and (span["max"] < days[-1]).any()
    t = totals.merge(span, left_on="trader_id", right_index=True)
    assert t.trade_date.between(t["min"], t["max"]).all()
    # and within the tenure some days are not traded
    assert (truth.state == "absent").sum() > 0
    assert len(totals) == (truth.state != "absent").sum()


def test_most_traders_lose_after_fees_a_few_win(firm):
    per = firm[1].groupby("trader_id").net_pnl.sum()
    assert (per < 0).mean() > 0.5
    assert (per > 0).sum() >= 1


def test_fills_per_trader_day_are_day_trader_like(firm):
    fills = firm[1].fills
    assert 20 <= fills.median() <= 150
    assert fills.quantile(0.95) < 400


def test_large_losses_are_followed_by_tilt(firm):
    _, totals, truth = firm
    m = totals.merge(truth, on=["trade_date", "trader_id"]).sort_values(["trader_id", "trade_date"])
    m["ll"] = m.net_pnl < m.large_loss_threshold
    m["prev_ll"] = m.groupby("trader_id").ll.shift().astype("boolean")
    m["rel_fills"] = m.fills / m.groupby("trader_id").fills.transform("median")
    m["rel_qty"] = (m.qty / m.orders) / (m.qty / m.orders).groupby(m.trader_id).transform("median")
    after = m[m.prev_ll == True]  # noqa: E712
    other = m[m.prev_ll == False]  # noqa: E712
    assert after.rel_fills.mean() > 1.15 * other.rel_fills.mean()
    assert after.rel_qty.mean() > 1.1 * other.rel_qty.mean()
    assert (after.state == "tilt").mean() > 2 * (other.state == "tilt").mean()


def test_oracle_is_calibrated_and_discriminates(firm):
    _, totals, truth = firm
    m = totals.merge(truth, on=["trade_date", "trader_id"])
    ll = (m.net_pnl < m.large_loss_threshold).astype(int)
    assert 0.05 <= ll.mean() <= 0.2
    assert abs(m.p_large_loss.mean() - ll.mean()) < 0.03
    assert roc_auc_score(ll, m.p_large_loss) > 0.7
    assert (truth.large_loss_threshold <= 0).all() and (truth.large_loss_threshold < 0).mean() > 0.9
    assert set(truth.market_regime) == {"calm", "volatile"}


def test_injected_trader_change_is_visible():
    change_day = dt.date(2024, 2, 1)
    base = SimulationConfig(n_traders=10, start=dt.date(2024, 1, 2), end=dt.date(2024, 2, 29), seed=5)
    changed = SimulationConfig(**{**base.__dict__, "changes": (InjectedChange(
        date=change_day, kind="trader_behaviour", trader_ids=("T0001", "T0002")),)})
    a, b = simulate(base).totals.to_pandas(), simulate(changed).totals.to_pandas()
    before = a.trade_date < change_day
    pd.testing.assert_frame_equal(a[before].reset_index(drop=True), b[b.trade_date < change_day]
                                  .reset_index(drop=True))
    who = ["T0001", "T0002"]
    after_a = a[~before & a.trader_id.isin(who)]
    after_b = b[(b.trade_date >= change_day) & b.trader_id.isin(who)]
    assert after_b.qty.sum() > 2.0 * after_a.qty.sum()


def test_injected_market_regime_change_makes_the_market_volatile():
    change_day = dt.date(2024, 1, 16)
    cfg = SimulationConfig(n_traders=4, start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 31), seed=5,
                           changes=(InjectedChange(date=change_day, kind="market_regime"),))
    truth = simulate(cfg).truth.to_pandas()
    assert (truth[truth.trade_date >= change_day].market_regime == "volatile").all()
    assert (truth[truth.trade_date < change_day].market_regime == "calm").any()


def test_24_7_calendar_trades_every_day_in_utc():
    cfg = SimulationConfig(n_traders=4, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 10),
                           calendar="24/7", n_symbols=5, seed=2)
    b = simulate(cfg)
    fills, truth = b.fills.to_pandas(), b.truth.to_pandas()
    assert truth.trade_date.nunique() == 10  # weekends included
    day = pd.to_datetime(fills.trade_date).dt.tz_localize("UTC")
    assert ((fills.ts >= day) & (fills.ts < day + pd.Timedelta(days=1))).all()
    assert set(fills.route) <= {"CBSE", "KRKN", "BNCE"}


def test_prices_mean_revert_so_the_fee_burden_does_not_grow():
    """A dollar martingale drifts down in log terms; the expected gap pulls each symbol back to
    its starting price, so two years on the median price is near where it began."""
    import numpy as np

    from risk_dagster.simulator.market import Market, intraday_variance_curve

    cfg = SimulationConfig(n_symbols=200)
    market = Market(cfg, np.random.default_rng(0), base_vol=0.02)
    start = market.close.copy()
    curve = intraday_variance_curve(6.5 * 3600, 0.5)[::60]  # a coarse grid is enough here
    for day in range(500):
        assert np.allclose(market.expected_gap(), -0.01 * np.log(market.close / market.anchor))
        market.step(np.random.default_rng(day + 1), curve, forced=False, vol_mult=1.0)
    drift = np.median(np.log(market.close / start))
    assert abs(drift) < 0.15, drift


def test_a_losing_streak_does_not_keep_a_trader_tilted():
    """Small daily losses without large ones: the streak shocks once, then tilt fades."""
    import numpy as np

    from risk_dagster.simulator.traders import TILT_STATE, Traders

    tr = Traders(4, 100, 10, np.random.default_rng(0))
    tr.tilt_prone[:] = 1.0
    traded = np.ones(4, dtype=bool)
    tilts = []
    for _ in range(30):
        tr.update(np.full(4, -10.0), traded, np.full(4, -1000.0))
        tilts.append(tr.tilt.max())
    assert max(tilts) >= TILT_STATE  # the streak reaching 3 is a shock
    assert tilts[-1] < TILT_STATE  # but 27 more losing days do not keep it there
