"""Turn a chunk of simulated sessions (numpy arrays) into canonical Arrow tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.schemas import FILLS, GROUND_TRUTH, TOTALS
from risk_dagster.simulator.config import SimBatch


def _cat(parts: list[dict], key: str) -> np.ndarray:
    return np.concatenate([p[key] for p in parts])


def _order_numbers(f: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per fill: the order's number within its trader-day (by time) and the fill's number
    within its order. Fills arrive grouped by order."""
    n = f["order"].size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.r_[True, f["order"][1:] != f["order"][:-1]]
    o_start = np.flatnonzero(first)
    o_tr, o_t = f["trader"][o_start], f["t"][o_start]
    perm = np.lexsort((o_t, o_tr))
    sorted_tr = o_tr[perm]
    tr_first = np.r_[True, sorted_tr[1:] != sorted_tr[:-1]]
    seq_sorted = np.arange(perm.size) - np.maximum.accumulate(np.where(tr_first, np.arange(perm.size), 0))
    seq = np.empty_like(seq_sorted)
    seq[perm] = seq_sorted
    of_fill = np.cumsum(first) - 1
    return seq[of_fill], np.arange(n) - o_start[of_fill]


def _fills_table(days: list[dict], sim, routes: tuple[str, ...], source: str) -> pa.Table:
    parts = []
    for d in days:
        f = d["fills"]
        o_seq, f_seq = _order_numbers(f)
        order = np.lexsort((f_seq, o_seq, f["trader"]))
        part = {k: v[order] for k, v in f.items()}
        part["o_seq"], part["f_seq"] = o_seq[order], f_seq[order]
        part["day"] = np.full(order.size, d["day"])
        parts.append(part)
    day = _cat(parts, "day")
    ts_us = sim.open_us[day] + np.round(_cat(parts, "t") * 1e6).astype(np.int64)
    ids = pa.array(sim.ids)
    tid = ids.take(pa.array(_cat(parts, "trader")))
    datestr = pa.array(sim.days.strftime("%Y%m%d").tolist()).take(pa.array(day))
    order_id = pc.binary_join_element_wise(
        tid, datestr, pc.utf8_lpad(pc.cast(pa.array(_cat(parts, "o_seq")), pa.string()), 4, "0"), "-")
    fill_id = pc.binary_join_element_wise(
        order_id, pc.cast(pa.array(_cat(parts, "f_seq") + 1), pa.string()), "-")
    symbols = pa.array([f"S{i + 1:03d}" for i in range(sim.config.n_symbols)])
    buy, short, add = _cat(parts, "buy"), _cat(parts, "short"), _cat(parts, "add")
    table = pa.table({
        "trade_date": pa.array(sim.days.date[day], pa.date32()),
        "ts": pa.array(ts_us, pa.timestamp("us", tz="UTC")),
        "trader_id": tid,
        "symbol": symbols.take(pa.array(_cat(parts, "symbol"))),
        "side": pa.array(np.where(buy, "B", "S")),
        "short_sale": pa.array(short),
        "qty": pa.array(_cat(parts, "qty")),
        "price": pa.array(_cat(parts, "price")),
        "notional": pa.array(_cat(parts, "notional")),
        "fees": pa.array(_cat(parts, "fees")),
        "liquidity": pa.array(np.where(add, "add", "remove")),
        "route": pa.array(list(routes)).take(pa.array(_cat(parts, "route"))),
        "order_id": order_id, "fill_id": fill_id,
        "realized_pnl": pa.array(_cat(parts, "realized")),
        "source": pa.array(np.full(day.size, source)),
    })
    return FILLS.to_arrow(table.to_pandas(types_mapper=pd.ArrowDtype))


def _totals_table(days: list[dict], sim, source: str) -> pa.Table:
    t = [d["totals"] for d in days]
    day = np.concatenate([np.full(x["trader"].size, d["day"]) for x, d in zip(t, days)])
    net, unreal = _cat(t, "net"), _cat(t, "unreal")
    frame = pd.DataFrame({
        "trade_date": sim.days.date[day], "trader_id": np.asarray(sim.ids, object)[_cat(t, "trader")],
        "orders": _cat(t, "orders"), "fills": _cat(t, "fills"), "qty": _cat(t, "qty"),
        "gross_pnl": _cat(t, "gross"), "fees": _cat(t, "fees"), "net_pnl": net,
        "unrealized_delta": unreal, "total_delta": net + unreal, "derived": False,
        "source": source,
    })
    return TOTALS.to_arrow(frame)


def _truth_table(days: list[dict], sim) -> pa.Table:
    t = [d["truth"] for d in days]
    day = np.concatenate([np.full(x["trader"].size, d["day"]) for x, d in zip(t, days)])
    regime = np.concatenate([np.full(x["trader"].size, x["regime"]) for x in t])
    frame = pd.DataFrame({
        "trade_date": sim.days.date[day], "trader_id": np.asarray(sim.ids, object)[_cat(t, "trader")],
        "state": _cat(t, "state"), "tilt": _cat(t, "tilt"),
        "market_regime": np.where(regime == 1, "volatile", "calm"),
        "p_large_loss": _cat(t, "p"), "large_loss_threshold": _cat(t, "threshold"),
    })
    return GROUND_TRUTH.to_arrow(frame)


def build_batch(days: list[dict], sim, routes: tuple[str, ...], source: str) -> SimBatch:
    """Canonical FILLS, TOTALS and GROUND_TRUTH of the simulated sessions ``days``."""
    return SimBatch(_fills_table(days, sim, routes, source), _totals_table(days, sim, source),
                    _truth_table(days, sim))
