"""Intraday behaviour per trader-day, from round trips and the realized P&L path.

Definitions (per trader-day; round trips as in ``round_trips``; "loss"/"win" = a complete round
trip with net P&L (average-cost realized minus its fees) < 0 / > 0):

- ``n_round_trips``: complete round trips; ``rt_win_rate``: winners / complete trips.
- ``rt_realized_pnl`` (USD): average-cost realized P&L of all closing legs, before fees (partial
  closes included); the P&L fallback when a source reports neither totals nor realized P&L.
- ``intraday_max_drawdown`` (USD, >= 0): largest fall of cumulative net realized P&L (each fill
  adds its closing legs' realized P&L and subtracts its fees) from its running peak, the peak
  starting at 0 before the first fill.
- ``time_of_low_frac``: time of the lowest point of that path (first occurrence), as a fraction of
  the session (0 open, 1 close).
- ``trades_after_loss``: round trips started when the trader's most recent completed trip (any
  symbol, that day) was a loss; a flip that closes a loss and opens a trip counts.
- ``size_after_loss_ratio``: mean entry notional of those trips / mean entry notional of the
  day's other trips (NaN when either set is empty).
- ``reentry_time_after_loss_s``: mean seconds from a losing trip's close to the trader's next trip
  start that day (NaN when no losing trip is followed by another).
- ``hold_time_losers_s``/``hold_time_winners_s``: mean seconds from first opening to last closing
  leg of losing/winning trips.
- ``size_escalation``: OLS slope of order notional on the order's start time (session fraction),
  divided by the mean order notional: +0.5 means orders grow by half the average size from open
  to close (NaN with fewer than 3 orders or all at the same instant).
- ``max_position_notional`` (USD): largest gross open position over the day, each symbol's
  position marked at the trader's latest fill price in it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from risk_dagster.panel.round_trips import Columns, legs, positions, sort_fills, trips
from risk_dagster.panel.session_times import MICROS_PER_SECOND, session_fraction, session_table

INTRADAY_COLUMNS = [
    "n_round_trips", "rt_win_rate", "rt_realized_pnl", "intraday_max_drawdown",
    "time_of_low_frac", "trades_after_loss", "size_after_loss_ratio",
    "reentry_time_after_loss_s", "hold_time_losers_s", "hold_time_winners_s", "size_escalation",
    "max_position_notional",
]
_NEEDED = ["trade_date", "ts", "trader_id", "symbol", "side", "qty", "price", "fees", "order_id",
           "fill_id"]


def intraday_behaviour(fills: pd.DataFrame | pa.Table, *, calendar: str) -> pd.DataFrame:
    """Round-trip and P&L-path behaviour per (trade_date, trader_id).

    ``fills``: canonical FILLS rows (at least trade_date, ts, trader_id, symbol, side, qty, price,
    fees, order_id, fill_id; ``multiplier`` when present scales price to USD), any order, as pandas or Arrow (Arrow avoids converting strings to
    Python objects, which dominates the time on millions of fills). Returns ``trade_date`` (python date), ``trader_id`` and
    ``INTRADAY_COLUMNS`` (definitions and units in the module docstring), one row per trader-day
    with fills, sorted by date and trader.
    """
    if len(fills) == 0:
        return pd.DataFrame(columns=["trade_date", "trader_id", *INTRADAY_COLUMNS])
    needed = _NEEDED + (["multiplier"] if "multiplier" in _names(fills) else [])
    f, out = sort_fills(fills.select(needed) if isinstance(fills, pa.Table) else fills[needed])
    f = positions(f)
    td = f["td"]
    n_td = len(out)
    bounds = session_table(calendar, out["trade_date"]).set_index("trade_date")
    open_us = bounds.loc[out["trade_date"], "open_us"].to_numpy()
    close_us = bounds.loc[out["trade_date"], "close_us"].to_numpy()

    leg = legs(f)
    trip = trips(leg)
    chrono = _chronological(f["t_us"], td)
    rank = np.empty(len(td), dtype=np.int64)
    rank[chrono] = np.arange(len(td))

    realized = np.bincount(leg["fill"], weights=leg["realized"], minlength=len(td))
    out["rt_realized_pnl"] = np.bincount(td, weights=realized, minlength=n_td)
    out = out.join(_pnl_path(f, realized, chrono, n_td, open_us, close_us))
    out["max_position_notional"] = _max_gross_exposure(f, chrono, n_td)
    out = out.join(_trip_outcomes(trip, n_td))
    out = out.join(_after_loss(trip, rank, n_td))
    out["size_escalation"] = _size_escalation(f, n_td, open_us, close_us)
    out = out.sort_values(["trade_date", "trader_id"], ignore_index=True)
    return out[["trade_date", "trader_id", *INTRADAY_COLUMNS]]


def _names(fills: pd.DataFrame | pa.Table) -> list[str]:
    return fills.column_names if isinstance(fills, pa.Table) else list(fills.columns)


def _chronological(t_us: np.ndarray, td: np.ndarray) -> np.ndarray:
    """Row order by (trader-day, time) for rows sorted by trader-day; same-instant fills keep
    their (symbol, fill_id) order. One stable sort of a packed int64 key: the time since the
    trader-day's first fill fits in 40 bits for any span under 12 days."""
    starts = np.flatnonzero(np.r_[True, td[1:] != td[:-1]])
    rel = t_us - np.repeat(np.minimum.reduceat(t_us, starts), np.diff(np.r_[starts, len(td)]))
    return np.argsort((td.astype(np.int64) << 40) | rel, kind="stable")


def _segment_max(values: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """Max of ``values`` per segment id, ``seg`` sorted and covering 0..n-1."""
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    return np.maximum.reduceat(values, starts)[:n]


def _pnl_path(f, realized, chrono, n_td, open_us, close_us) -> pd.DataFrame:
    td = f["td"][chrono]
    step = (realized - f["fees"])[chrono]
    cum = pd.Series(step).groupby(td).cumsum().to_numpy()
    peak = np.maximum(pd.Series(cum).groupby(td).cummax().to_numpy(), 0.0)
    drawdown = _segment_max(peak - cum, td, n_td)
    low = pd.Series(cum).groupby(td).idxmin().to_numpy()  # first occurrence of the minimum
    low_us = f["t_us"][chrono][low].astype("float64")
    return pd.DataFrame({
        "intraday_max_drawdown": drawdown,
        "time_of_low_frac": session_fraction(low_us, open_us, close_us),
    })


def _max_gross_exposure(f, chrono, n_td) -> np.ndarray:
    grp = f["grp"]
    exposure = np.abs(f["pos"]) * f["price"]
    prev = np.r_[0.0, exposure[:-1]]
    prev[np.r_[True, grp[1:] != grp[:-1]]] = 0.0
    td = f["td"][chrono]
    gross = pd.Series((exposure - prev)[chrono]).groupby(td).cumsum().to_numpy()
    return _segment_max(gross, td, n_td)


def _trip_outcomes(trip: Columns, n_td: int) -> pd.DataFrame:
    done = trip["complete"]
    td = trip["td"][done].astype(np.int64)
    win = trip["net_pnl"][done] > 0
    loss = trip["net_pnl"][done] < 0
    hold = trip["hold_s"][done].astype("float64")
    n = np.bincount(td, minlength=n_td).astype("float64")
    n_win = np.bincount(td, weights=win, minlength=n_td)
    n_loss = np.bincount(td, weights=loss, minlength=n_td)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "n_round_trips": n,
            "rt_win_rate": np.where(n > 0, n_win / n, np.nan),
            "hold_time_losers_s": np.bincount(td, weights=hold * loss, minlength=n_td) / n_loss,
            "hold_time_winners_s": np.bincount(td, weights=hold * win, minlength=n_td) / n_win,
        })


def _after_loss(trip: Columns, rank: np.ndarray, n_td: int) -> pd.DataFrame:
    """Ranks are chronological positions grouped by trader-day, so the nearest earlier/later
    event in the global order is in the same trader-day or the match is rejected."""
    td = trip["td"].astype(np.int64)
    start = rank[trip["start_fill"].astype(np.int64)]
    end = rank[trip["end_fill"].astype(np.int64)]
    done = trip["complete"]
    is_loss = done & (trip["net_pnl"] < 0)

    ends_order = np.argsort(np.where(done, end, -1))[np.count_nonzero(~done):]
    j = np.searchsorted(end[ends_order], start, side="right") - 1
    prev = ends_order[np.clip(j, 0, None)] if len(ends_order) else np.zeros(len(td), np.int64)
    after = (j >= 0) & (len(ends_order) > 0) & (td[prev] == td) & is_loss[prev]

    notional = trip["entry_notional"].astype("float64")
    n_after = np.bincount(td, weights=after, minlength=n_td)
    n_other = np.bincount(td, weights=~after, minlength=n_td)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_after = np.bincount(td, weights=notional * after, minlength=n_td) / n_after
        mean_other = np.bincount(td, weights=notional * ~after, minlength=n_td) / n_other

    starts_order = np.argsort(start)
    k = np.searchsorted(start[starts_order], end, side="left")
    nxt = starts_order[np.clip(k, 0, len(start) - 1)] if len(start) else k
    has_next = is_loss & (k < len(start)) & (td[nxt] == td)
    gap_s = np.where(has_next, (trip["start_us"][nxt] - trip["end_us"])
                     / MICROS_PER_SECOND, 0.0).astype("float64")
    n_gaps = np.bincount(td, weights=has_next, minlength=n_td)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "trades_after_loss": n_after,
            "size_after_loss_ratio": mean_after / mean_other,
            "reentry_time_after_loss_s": np.bincount(td, weights=gap_s, minlength=n_td) / n_gaps,
        })


def _size_escalation(f, n_td, open_us, close_us) -> np.ndarray:
    td = f["td"]
    # Mixing the trader-day into the order hash keeps equal order ids of two traders apart.
    mixed = f["order_hash"] ^ (td.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    order = pd.factorize(mixed)[0]
    frame = pd.DataFrame({"order": order, "td": td, "t": f["t_us"],
                          "notional": f["qty"] * f["price"]})
    per_order = frame.groupby("order", sort=False).agg(
        td=("td", "first"), t=("t", "min"), y=("notional", "sum"))
    o_td = per_order["td"].to_numpy()
    x = session_fraction(per_order["t"].to_numpy().astype("float64"), open_us[o_td], close_us[o_td])
    y = per_order["y"].to_numpy()
    ok = np.isfinite(x)
    o_td, x, y = o_td[ok], x[ok], y[ok]
    n = np.bincount(o_td, minlength=n_td).astype("float64")
    sx, sy = (np.bincount(o_td, weights=w, minlength=n_td) for w in (x, y))
    sxx, sxy = (np.bincount(o_td, weights=w, minlength=n_td) for w in (x * x, x * y))
    with np.errstate(invalid="ignore", divide="ignore"):
        var = n * sxx - sx * sx
        slope = (n * sxy - sx * sy) / var
        rel = slope / (sy / n)
    return np.where((n >= 3) & (var > 1e-12 * np.maximum(n * n, 1)), rel, np.nan)
