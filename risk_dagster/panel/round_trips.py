"""Round trips reconstructed from fills, vectorized (numpy + pandas groupby, no per-fill loop).

Convention: positions are rebuilt per (trader, trade_date, symbol) starting flat at the first fill
of the day (intraday view: a position carried overnight is not known from one day's fills, and
starting flat keeps each day independent of other chunks). A round trip opens when the position
leaves 0 and ends when it returns to 0 or flips sign; a flipping fill is split into a closing leg
(old trip) and an opening leg (new trip). P&L uses average cost: realized on a closing leg =
direction x (price - average entry price) x qty; each leg carries its share of the fill's fees.
A trip still open at the last fill of the day is "incomplete".

Money: ``price`` here is the USD value of one unit of quantity, i.e. the fill's price x its
``multiplier`` (a future's point value: MES 6100.00 x $5; 1.0 for shares and tokens), so P&L and
notionals come out in USD for every asset class.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.panel.session_times import MICROS_PER_SECOND

# Positions within this fraction of the day's traded quantity count as flat (fractional tokens).
_FLAT_TOLERANCE = 1e-9


_COLUMNS_SQL = """
SELECT hash(order_id) AS order_hash, epoch_us(ts) AS t_us, side = 'B' AS is_buy, qty,
       {price} AS price, fees
FROM {view}
"""
_VIEW = "intraday_fills_"


Columns = dict[str, np.ndarray]


def sort_fills(fills: pd.DataFrame | pa.Table) -> tuple[Columns, pd.DataFrame]:
    """Fills sorted by (trader, date, symbol, ts, fill_id), as numpy columns ``t_us`` (UTC epoch
    microseconds), ``is_buy``, ``qty``, ``price`` (USD per unit: price x multiplier when the
    fills carry a ``multiplier``), ``fees``, ``order_hash`` (64-bit hash of the
    order id: a collision within one trader-day is practically impossible), ``td``
    (trader-day id 0..n-1) and ``grp`` (trader-day-symbol id); plus the ``trade_date`` (python
    date) and ``trader_id`` of each ``td``.

    Strings are ordered as DuckDB's ORDER BY orders them (bytewise, nulls last), but sorted as
    integers: each of trader, date and symbol becomes the rank of its value among the few
    distinct ones, one lexsort orders the rows, and only rows tied on (trader, date, symbol, ts)
    are ordered by fill id, so no string is compared row by row (twice as fast as DuckDB's
    string sort on millions of fills)."""
    if isinstance(fills, pd.DataFrame):
        # Via Arrow: DuckDB 2.0 cannot scan some pandas views (e.g. reversed with iloc[::-1]).
        fills = pa.Table.from_pandas(fills, preserve_index=False)
    con = duckdb.connect()
    try:
        con.register(_VIEW, fills)
        price = ("price * coalesce(multiplier, 1.0)" if "multiplier" in fills.column_names
                 else "price")
        table = con.sql(_COLUMNS_SQL.format(view=_VIEW, price=price)).to_arrow_table()
    finally:
        con.close()
    trader, day, symbol = (_value_ranks(fills[name]) for name in ("trader_id", "trade_date",
                                                                    "symbol"))
    t_us = table["t_us"].to_numpy()
    order = _order(trader, day, symbol, t_us, fills["fill_id"])
    trader, day, symbol = trader[order], day[order], symbol[order]
    new_td = _changes(trader) | _changes(day)
    td = np.cumsum(new_td) - 1
    grp = np.cumsum(new_td | _changes(symbol)) - 1
    heads = order[np.flatnonzero(new_td)]
    keys = pa.table({"trade_date": fills["trade_date"].take(heads),
                     "trader_id": fills["trader_id"].take(heads)}).to_pandas()
    columns = {name: table[name].to_numpy()[order] for name in ("qty", "price", "fees",
                                                                 "order_hash")}
    columns["t_us"] = t_us[order]
    columns["is_buy"] = table["is_buy"].to_numpy(zero_copy_only=False)[order]
    return {**columns, "td": td, "grp": grp}, keys


def _value_ranks(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per row, the rank of its value among the column's distinct values in sort order (strings
    bytewise, as DuckDB and Python compare them); nulls rank after every value."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    enc = pc.dictionary_encode(arr)
    values = enc.dictionary.to_pylist()
    rank = np.empty(len(values) + 1, dtype=np.int64)
    rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    rank[len(values)] = len(values)
    return rank[pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False)]


def _order(trader, day, symbol, t_us, fill_id: pa.ChunkedArray) -> np.ndarray:
    """Row order by (trader, day, symbol, t_us, fill_id): one integer lexsort on the three
    ranks packed into one key and the time, then the fill ids break the ties among rows equal
    on both."""
    n_day, n_symbol = int(day.max(initial=0)) + 1, int(symbol.max(initial=0)) + 1
    group = (trader * n_day + day) * n_symbol + symbol  # < 2**63 for any realistic chunk
    order = np.lexsort((t_us, group))
    tie = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        g, t = group[order], t_us[order]
        tie[1:] = (g[1:] == g[:-1]) & (t[1:] == t[:-1])
    if tie.any():
        run = np.cumsum(~tie)  # rows of one run share all four keys
        tied = np.flatnonzero(tie | np.r_[tie[1:], False])
        ids = _value_ranks(fill_id.take(pa.array(order[tied])))
        order[tied] = order[tied][np.lexsort((ids, run[tied]))]
    return order


def _changes(codes: np.ndarray) -> np.ndarray:
    """True where a row's value differs from the previous row's (and on the first row)."""
    out = np.ones(len(codes), dtype=bool)
    out[1:] = codes[1:] != codes[:-1]
    return out


def positions(f: Columns) -> Columns:
    """Adds ``pos`` / ``prev_pos`` (signed shares after / before each fill, per trader-day-symbol),
    ``close_q`` (shares that reduce the open trip) and ``open_q`` (shares that open or add)."""
    qty = f["qty"]
    signed = np.where(f["is_buy"], qty, -qty)
    grp = f["grp"]
    cums = pd.DataFrame({"pos": signed, "scale": qty}).groupby(grp, sort=False).cumsum()
    pos, scale = cums["pos"].to_numpy(), cums["scale"].to_numpy()
    pos[np.abs(pos) <= _FLAT_TOLERANCE * scale] = 0.0
    first = np.r_[True, grp[1:] != grp[:-1]] if len(grp) else np.zeros(0, bool)
    prev = np.r_[0.0, pos[:-1]] if len(pos) else pos.copy()
    prev[first] = 0.0
    sp, sn, d = np.sign(prev), np.sign(pos), np.sign(signed)
    reducing = (sp != 0) & (d != sp)
    ends = reducing & (sn != sp)  # back to flat or flipped: the whole open position closes
    close_q = np.where(ends, np.abs(prev), np.where(reducing, np.minimum(qty, np.abs(prev)), 0.0))
    open_q = np.where(reducing, np.where(sn == -sp, np.abs(pos), 0.0), qty)
    return {**f, "pos": pos, "prev_pos": prev, "close_q": close_q, "open_q": open_q,
            "direction": d, "prev_direction": sp}


def legs(f: Columns) -> Columns:
    """One row per opening or closing leg, ordered by trip, with ``rt`` (trip id), ``realized``
    (USD, closing legs only) and ``leg_fees`` (USD). ``f`` comes from ``positions``."""
    open_q, close_q = f["open_q"], f["close_q"]
    starts = (open_q > 0) & ((f["prev_direction"] == 0) | (close_q > 0))
    counter = np.cumsum(starts)
    entry_idx, exit_idx = np.flatnonzero(open_q > 0), np.flatnonzero(close_q > 0)
    idx = np.r_[exit_idx, entry_idx]
    is_exit = np.r_[np.ones(len(exit_idx), bool), np.zeros(len(entry_idx), bool)]
    rt = np.r_[counter[exit_idx] - starts[exit_idx], counter[entry_idx]] - 1
    leg_q = np.r_[close_q[exit_idx], open_q[entry_idx]]
    # By fill, closing leg first: that orders legs by trip too (a trip ends where the next starts).
    order = np.lexsort((~is_exit, idx))
    idx, is_exit, rt, leg_q = idx[order], is_exit[order], rt[order], leg_q[order]
    price = f["price"][idx]
    direction = np.where(is_exit, f["prev_direction"][idx], f["direction"][idx])
    entry_q = np.where(is_exit, 0.0, leg_q)
    cums = pd.DataFrame({"q": entry_q, "n": entry_q * price}).groupby(rt, sort=False).cumsum()
    cum_q, cum_n = cums["q"].to_numpy(), cums["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_cost = cum_n / cum_q
        fee_share = f["fees"][idx] * leg_q / f["qty"][idx]
    # A closing leg carries the trip's direction (the sign of the position it reduces).
    realized = np.where(is_exit, direction * (price - avg_cost) * leg_q, 0.0)
    return {
        "fill": idx, "rt": rt, "is_exit": is_exit, "qty": leg_q, "price": price,
        "trip_direction": direction, "realized": realized, "leg_fees": fee_share,
        "t_us": f["t_us"][idx], "td": f["td"][idx],
    }


def trips(leg: Columns) -> Columns:
    """One row per round trip: ``td``, ``start_us``/``end_us``, ``start_fill``/``end_fill``,
    ``entry_notional`` (USD), ``net_pnl`` (USD, realized minus fees), ``complete`` (bool),
    ``hold_s`` (seconds from the first opening leg to the last closing leg)."""
    rt = leg["rt"]
    bounds = np.flatnonzero(np.r_[True, rt[1:] != rt[:-1]]) if len(rt) else np.zeros(0, int)
    is_exit = leg["is_exit"]
    q, price = leg["qty"], leg["price"]
    entry_q = np.add.reduceat(np.where(is_exit, 0.0, q), bounds)
    exit_q = np.add.reduceat(np.where(is_exit, q, 0.0), bounds)
    net = np.add.reduceat(leg["realized"] - leg["leg_fees"], bounds)
    last = np.r_[bounds[1:], len(rt)] - 1
    return {
        "td": leg["td"][bounds],
        "start_us": leg["t_us"][bounds],
        "end_us": leg["t_us"][last],
        "start_fill": leg["fill"][bounds],
        "end_fill": leg["fill"][last],
        "entry_notional": np.add.reduceat(np.where(is_exit, 0.0, q * price), bounds),
        "net_pnl": net,
        "complete": exit_q >= entry_q * (1 - _FLAT_TOLERANCE),
        "hold_s": (leg["t_us"][last] - leg["t_us"][bounds]) / MICROS_PER_SECOND,
    }
