"""Test support, the one module: canonical fills and totals (no simulator needed), synthetic
feature panels for the drift tests, the definitions under test and HTML helpers.

Fills: ``make_fills`` (round trips of 100 shares inside the sessions, realized P&L exact, at
any volume: the ingest checks, the panel tests, ``bench.pandas_reference``) and
``fills_from_rows`` (hand-written fills for exact values).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np
import pandas as pd

from risk_dagster.core.calendar import session_bounds, sessions
from risk_dagster.core.schemas import FILLS, TOTALS


def totals_from(fills: pd.DataFrame) -> pd.DataFrame:
    agg = fills.groupby(["trade_date", "trader_id"]).agg(
        orders=("order_id", "nunique"), fills=("fill_id", "size"), qty=("qty", "sum"),
        gross_pnl=("realized_pnl", "sum"), fees=("fees", "sum")).reset_index()
    agg["net_pnl"] = agg["gross_pnl"] - agg["fees"]
    agg["unrealized_delta"] = 0.0
    agg["total_delta"] = agg["net_pnl"]
    agg["derived"] = False
    agg["source"] = "test"
    return TOTALS.conform(agg)


# --- fills: generated at volume, and hand-written for exact values ---------------------------

SYMBOLS = np.array(["AAPL", "MSFT", "NVDA", "TSLA", "AMD", "META", "AMZN", "SPY"])
ROUTES = np.array(["ARCA", "NSDQ", "EDGX", "BATS"])


def trader_ids(n: int) -> list[str]:
    """``T0001`` .. ``T{n:04d}``."""
    return [f"T{i + 1:04d}" for i in range(n)]


def first_sessions(calendar: str, start: dt.date, n: int) -> list[dt.date]:
    """The first ``n`` sessions of ``calendar`` from ``start``."""
    days = sessions(calendar, start, start + dt.timedelta(days=n * 2 + 10))[:n]
    return [d.date() for d in days]


def make_fills(days: list[dt.date], traders: list[str], per_day: int = 6, seed: int = 0,
               source: str = "test", *, calendar: str = "XNYS") -> pd.DataFrame:
    """Canonical fills: every trader trades ``per_day`` fills on each of ``days`` inside the
    day's session of ``calendar``, as round trips of 100 shares one after the other (a buy, then
    a sell of the same symbol; a trader's j-th round trip is in the same symbol every day), so
    FIFO finds the same P&L: the sell's ``realized_pnl`` is exactly 100 x (sell - buy) USD, the
    buy's 0 (an odd ``per_day`` leaves its last buy open).
    Each fill is its own order; prices are noisy around a level per symbol and day; fees 0.5 USD
    a fill. Vectorized: a few million rows take seconds."""
    rng = np.random.default_rng(seed)
    n_days, n_traders = len(days), len(traders)
    if not (n_days and n_traders and per_day):
        return FILLS.empty()
    opens, closes = session_bounds(calendar, pd.DatetimeIndex(days))
    n = n_days * n_traders * per_day
    day_idx = np.repeat(np.arange(n_days), n_traders * per_day)
    trader_idx = np.tile(np.repeat(np.arange(n_traders), per_day), n_days)
    k = np.tile(np.arange(per_day), n_days * n_traders)  # the fill's rank in its trader-day
    pair = k // 2
    # time: sorted offsets inside [open, close - 1 min) per trader-day, so round trips follow
    # one another and never overlap (FIFO pairs each sell with its own buy)
    open_us = opens.as_unit("us").asi8[day_idx]
    span_us = (closes.as_unit("us").asi8 - opens.as_unit("us").asi8)[day_idx] - 60_000_000
    offsets = np.sort(rng.random((n_days * n_traders, per_day)), axis=1).ravel()
    t_us = open_us + (offsets * span_us).astype("int64")
    # a trader's j-th round trip is in the same symbol every day (a position left open
    # overnight is closed in its own symbol); prices: a level per symbol-day plus noise
    sym_of_trip = rng.integers(0, len(SYMBOLS), (n_traders, (per_day + 1) // 2))
    sym_idx = sym_of_trip[trader_idx, pair]
    level = (50.0 + 10.0 * np.arange(len(SYMBOLS)))[sym_idx] * (1 + 0.02 * np.sin(day_idx + sym_idx))
    price = np.round(level * (1 + 0.002 * rng.standard_normal(n)), 2)
    is_sell = k % 2 == 1
    qty = np.full(n, 100.0)
    buy_price = np.where(is_sell, np.roll(price, 1), price)  # a sell's buy is the fill before it
    realized = np.where(is_sell, np.round(qty * (price - buy_price), 6), 0.0)
    liquidity = np.where(rng.random(n) < 0.5, "add", "remove").astype(object)
    liquidity[rng.random(n) < 0.1] = None
    ids = np.char.add(np.char.add(np.asarray(traders, dtype=str)[trader_idx], "-"),
                      np.char.add(np.asarray([d.isoformat() for d in days])[day_idx],
                                  np.char.add("-", np.char.zfill(k.astype(str), 4))))
    frame = pd.DataFrame({
        "trade_date": np.asarray(days, dtype=object)[day_idx],
        "ts": pd.to_datetime(t_us, unit="us", utc=True),
        "trader_id": np.asarray(traders, dtype=object)[trader_idx],
        "symbol": SYMBOLS[sym_idx],
        "side": np.where(is_sell, "S", "B"),
        "short_sale": False,
        "qty": qty,
        "price": price,
        "notional": qty * price,
        "fees": 0.5,
        "liquidity": liquidity,
        "route": ROUTES[rng.integers(0, len(ROUTES), n)],
        "order_id": ids,
        "fill_id": np.char.add(ids, "-f"),
        "realized_pnl": realized,
        "source": source,
    })
    return FILLS.conform(frame)


def fills_from_rows(rows: list[dict], *, trade_date: dt.date, trader_id: str = "T0001") -> pd.DataFrame:
    """Canonical fills from short dicts: ``{"t": "14:31:00", "side": "B", "qty": 100,
    "price": 10.0}`` plus optional ``symbol``, ``order_id``, ``fees``, ``liquidity``, ``route``,
    ``trader_id``. ``t`` is a UTC time on ``trade_date``."""
    out = []
    for i, r in enumerate(rows):
        qty, price = float(r["qty"]), float(r["price"])
        out.append({
            "trade_date": trade_date,
            "ts": pd.Timestamp(f"{trade_date} {r['t']}", tz="UTC"),
            "trader_id": r.get("trader_id", trader_id),
            "symbol": r.get("symbol", "AAA"),
            "side": r["side"],
            "short_sale": False,
            "qty": qty,
            "price": price,
            "notional": qty * price,
            "fees": float(r.get("fees", 0.0)),
            "liquidity": r.get("liquidity", "add"),
            "route": r.get("route", "ARCA"),
            "order_id": r.get("order_id", f"O{i}"),
            "fill_id": f"F{trade_date:%Y%m%d}{i:05d}",
            "realized_pnl": r.get("realized_pnl"),
            "source": "test",
        })
    return FILLS.conform(pd.DataFrame(out))


# --- synthetic feature panels (drift tests) ---------------------------------------------------
# Each feature of each trader is a stationary AR(1) series (unit variance) with persistence drawn
# from ``PHIS``: 0 for day-level quantities, 0.9-0.97 for rolling aggregates like 21-day volatility,
# with Student-t innovations (fat tails). ``p_large_loss`` is a logistic function of the first three
# features, so it inherits their persistence. A change is a level shift of ``shift_sd`` stationary
# standard deviations and/or a scale change of ``scale`` on chosen features, from ``change_date``
# on, for the ``affected`` traders.

PHIS = (0.0, 0.3, 0.6, 0.9, 0.97)


def _ar1(rng: np.random.Generator, n: int, phi: float, df: float) -> np.ndarray:
    eps = rng.standard_t(df, size=n) / np.sqrt(df / (df - 2))  # unit variance innovations
    x = np.empty(n)
    x[0] = eps[0]  # stationary start (unit variance)
    scale = np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + scale * eps[t]
    return x


def synthetic_features(n_traders: int = 10, n_sessions: int = 500, n_features: int = 30,
                       seed: int = 0, start: dt.date = dt.date(2024, 1, 2),
                       change_date: dt.date | None = None, shift_features: tuple[str, ...] = (),
                       shift_sd: float = 0.0, scale: float = 1.0,
                       affected: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Features frame ``trade_date, trader_id, f000.., p_large_loss`` on business days.

    Out: n_traders x n_sessions rows. Feature ``f{j:03d}`` has persistence ``PHIS[j % 5]``.
    With ``change_date``, rows of ``affected`` traders (all when None) dated >= change_date get
    ``value * scale + shift_sd`` on ``shift_features`` (values are unit-variance, so shift_sd is
    in standard deviations).
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_sessions).date
    names = [f"f{j:03d}" for j in range(n_features)]
    frames = []
    for i in range(n_traders):
        tid = f"T{i + 1:04d}"
        data = {n: _ar1(rng, n_sessions, PHIS[j % len(PHIS)], df=5.0) for j, n in enumerate(names)}
        frame = pd.DataFrame({"trade_date": dates, "trader_id": tid, **data})
        if change_date is not None and (affected is None or tid in affected):
            after = frame["trade_date"] >= change_date
            for f in shift_features:
                frame.loc[after, f] = frame.loc[after, f] * scale + shift_sd
        logit = -2.2 + 0.6 * frame[names[0]] + 0.5 * frame[names[1]] + 0.4 * frame[names[min(3, n_features - 1)]]
        frame["p_large_loss"] = 1 / (1 + np.exp(-logit))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@functools.cache
def date_assets() -> dict:
    """The date-partitioned assets by name, built on the default settings' date partitions
    (2024-01-02..2025-12-31, XNYS), as the code location builds them."""
    from risk_dagster.core.settings import Settings
    from risk_dagster.defs.assets import build_date_assets
    from risk_dagster.defs.partitions import build_date_partitions

    return build_date_assets(build_date_partitions(Settings()))
_FETCHING_TAG = re.compile(r"<(?:script|link|img|iframe|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*"
                           r"[\"']?([^\"'\s>]+)", re.IGNORECASE)
PLOTLY_BUNDLE_HEAD = "* plotly.js v"  # the licence header that opens the inlined bundle


def fetched_resources(page: str) -> list[str]:
    """What an HTML page would load besides itself: the src/href of its script, link, img,
    iframe, source and embed tags (``data:`` URIs excluded). Empty for a self-contained page."""
    return [u for u in _FETCHING_TAG.findall(page) if not u.lower().startswith("data:")]
