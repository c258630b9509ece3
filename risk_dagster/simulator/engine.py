"""Run the simulated firm session by session (vectorised over traders) and emit canonical tables
in chunks of sessions, so memory stays bounded whatever the length of the history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from risk_dagster.core.calendar import session_bounds, sessions
from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.core.settings import CALENDAR_24_7
from risk_dagster.simulator.config import SimBatch, SimulationConfig, rng_for, trader_ids
from risk_dagster.simulator.execution import ROUTES, execute_day
from risk_dagster.simulator.market import Market, intraday_variance_curve
from risk_dagster.simulator.oracle import p_large_loss, predictive_moments
from risk_dagster.simulator.plan import draw_round_trips
from risk_dagster.simulator.tables import build_batch
from risk_dagster.simulator.traders import Traders

SOURCE = "simulator"
_MARKET, _TRADERS, _EXECUTION, _ORACLE, _SETUP = range(5)


class FirmSimulation:
    """State of the firm between sessions; ``run_day(i)`` simulates session ``i`` in order."""

    def __init__(self, config: SimulationConfig):
        self.config = config
        self.days = sessions(config.calendar, config.start, config.end)
        opens, closes = session_bounds(config.calendar, self.days)
        self.open_us = np.asarray(opens.as_unit("us").asi8, dtype=np.int64)
        self.length_s = ((closes - opens).total_seconds()).to_numpy()
        crypto = config.calendar == CALENDAR_24_7
        self.amplitude = 0.15 if crypto else 0.6
        self.market = Market(config, rng_for(config, 10**6, _SETUP, 0), 0.035 if crypto else 0.02)
        self.traders = Traders(config.n_traders, len(self.days), config.n_symbols,
                               rng_for(config, 10**6, _SETUP, 1))
        self.ids = trader_ids(config)
        self.index = {t: i for i, t in enumerate(self.ids)}
        n = config.n_traders
        self.carry = {"has": np.zeros(n, bool), "symbol": np.zeros(n, np.int64),
                      "qty": np.zeros(n, np.int64), "direction": np.zeros(n, np.int64),
                      "cost": np.zeros(n), "unreal": np.zeros(n)}
        self.change_day = [int(np.searchsorted(self.days, pd.Timestamp(c.date)))
                           for c in config.changes]
        self._curves: dict[float, np.ndarray] = {}

    def _market_forcing(self, day: int) -> tuple[bool, float]:
        forced, mult = False, 1.0
        for c, start in zip(self.config.changes, self.change_day):
            end = start + c.duration_sessions if c.duration_sessions else len(self.days)
            if c.kind == "market_regime" and start <= day < end:
                forced, mult = True, mult * c.vol_mult
        return forced, mult

    def run_day(self, day: int) -> dict:
        """Simulate session ``day``: fills, per-trader totals and ground truth (dict of arrays)."""
        cfg, tr, carry = self.config, self.traders, self.carry
        for c, start in zip(cfg.changes, self.change_day):
            if c.kind == "trader_behaviour" and start == day:
                tr.apply_change(c, self.index)
        forced, vol_mult = self._market_forcing(day)
        session_s = float(self.length_s[day])
        curve = self._curves.setdefault(session_s, intraday_variance_curve(session_s, self.amplitude))
        active = tr.active(day)
        act = np.flatnonzero(active)
        allow_carry = day + 1 < tr.leave
        # ground truth first: it only uses what is known at the previous close
        rng_o = rng_for(cfg, day, _ORACLE)
        mu, var = predictive_moments(rng_o, tr, act, self.market, curve, session_s, forced,
                                     vol_mult, carry, allow_carry, cfg.oracle_draws)
        p, thr_act = p_large_loss(rng_o, mu, var, tr.thresholds()[act])
        state, tilt = tr.state_labels()[act], tr.tilt[act].copy()

        md = self.market.step(rng_for(cfg, day, _MARKET), curve, forced, vol_mult)
        rng_t = rng_for(cfg, day, _TRADERS)
        trades = active & ((rng_t.random(tr.n) >= tr.p_off) | carry["has"])
        rows = np.flatnonzero(trades)
        beh = tr.behaviour(rows, np.full(rows.size, float(md.regime)))
        rt = draw_round_trips(rng_t, beh, tr.symbols[rows], md.p_ref, session_s, allow_carry[rows])
        fills, carry_out = execute_day(rng_for(cfg, day, _EXECUTION), rt, rows, md, carry,
                                       beh.fill_lambda, session_s, cfg.calendar)
        totals = self._totals(fills, rows, carry_out, md.close)
        threshold = np.full(tr.n, np.nan)
        threshold[act] = thr_act
        net = np.zeros(tr.n)
        net[rows] = totals["net"]
        tr.update(net, trades, threshold)
        state = np.where(trades[act], state, "absent")
        truth = {"trader": act, "state": state, "tilt": tilt, "regime": md.regime,
                 "p": p, "threshold": thr_act}
        return {"day": day, "fills": fills, "totals": totals, "truth": truth}

    def _totals(self, f: dict, rows: np.ndarray, carry_out: dict, close: np.ndarray) -> dict:
        n, carry = self.traders.n, self.carry
        first = np.r_[True, f["order"][1:] != f["order"][:-1]] if f["order"].size else f["order"] > 0
        orders = np.bincount(f["trader"][first], minlength=n)
        gross = np.bincount(f["trader"], f["realized"], n)
        fees = np.bincount(f["trader"], f["fees"], n)
        # positions at the close and the change of their mark-to-market value
        unreal = np.zeros(n)
        t = carry_out["trader"]
        unreal[t] = carry_out["direction"] * carry_out["qty"] * (close[carry_out["symbol"]]
                                                                   - carry_out["cost"])
        delta = unreal - carry["unreal"]
        for key in ("has", "symbol", "qty", "direction", "cost"):
            carry[key][:] = 0
        carry["has"][t] = True
        for key in ("symbol", "qty", "direction", "cost"):
            carry[key][t] = carry_out[key]
        carry["unreal"] = unreal
        return {"trader": rows, "orders": orders[rows], "fills": np.bincount(f["trader"], minlength=n)[rows],
                "qty": np.bincount(f["trader"], f["qty"], n)[rows], "gross": gross[rows],
                "fees": fees[rows], "net": gross[rows] - fees[rows], "unreal": delta[rows]}


def _iterate(config: SimulationConfig, chunk_sessions: int, until: dt.date | None
             ) -> Iterator[SimBatch]:
    sim = FirmSimulation(config)
    routes = ROUTES.get(config.calendar, ROUTES["XNYS"])
    buffer: list[dict] = []
    for day in range(len(sim.days)):
        if until is not None and sim.days[day].date() > until:
            break
        buffer.append(sim.run_day(day))
        if len(buffer) == chunk_sessions:
            yield build_batch(buffer, sim, routes, SOURCE)
            buffer = []
    if buffer:
        yield build_batch(buffer, sim, routes, SOURCE)


def iter_simulation(config: SimulationConfig, chunk_sessions: int = 20) -> Iterator[SimBatch]:
    """The whole simulation, ``chunk_sessions`` sessions per batch (bounded memory)."""
    yield from _iterate(config, chunk_sessions, None)


def simulate(config: SimulationConfig, start: dt.date | None = None,
             end: dt.date | None = None) -> SimBatch:
    """Tables for the sessions from ``start`` to ``end`` (default: the config's range). The firm is
    always simulated from ``config.start``, so a date's rows do not depend on the range asked."""
    lo = start or config.start
    hi = end or config.end
    parts = []
    for batch in _iterate(config, 20, hi):
        parts.append(_between(batch, lo, hi))
    if not parts:
        return SimBatch(FILLS.arrow.empty_table(), TOTALS.arrow.empty_table(),
                        GROUND_TRUTH.arrow.empty_table())
    return SimBatch(*(pa.concat_tables([getattr(p, k) for p in parts])
                      for k in ("fills", "totals", "truth")))


def _between(batch: SimBatch, lo: dt.date, hi: dt.date) -> SimBatch:
    def cut(table: pa.Table) -> pa.Table:
        d = table.column("trade_date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
        mask = (d >= np.datetime64(lo)) & (d <= np.datetime64(hi))
        return table.filter(pa.array(mask))
    return SimBatch(cut(batch.fills), cut(batch.totals), cut(batch.truth))
