"""Test support, the one module: canonical fills and totals (no simulator needed), synthetic
feature panels for the drift tests, synthetic trader-day panels (``make_panel``) and model
features with labels (``make_synthetic``), the definitions under test and HTML helpers.

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


# --- Trader-day panels (features and labels tests, bench.build_features) ---
# A synthetic trader-day panel with the trader_day_panel contract's columns.
#
# Traders join late, some stop trading (and leave the roster 20 sessions later), non-traded roster
# days carry NaN aggregates, and a simple tilt state makes losses cluster into streaks with bigger,
# busier trading after them. Vectorized over traders; the only loop is over sessions.

AGGREGATES = [
    "gross_pnl", "fees", "net_pnl", "n_orders", "n_fills", "qty", "notional", "n_symbols",
    "n_routes", "add_liq_rate", "remove_liq_rate", "first_hour_fill_rate",
    "last_hour_fill_rate", "buy_rate", "fills_per_order", "avg_order_duration_s",
    "price_impact_bps", "cost_per_share", "eff_spread_bps", "fee_rate_bps", "n_round_trips",
    "rt_win_rate", "intraday_max_drawdown", "time_of_low_frac", "trades_after_loss",
    "size_after_loss_ratio", "reentry_time_after_loss_s", "hold_time_losers_s",
    "hold_time_winners_s", "size_escalation", "avg_order_notional", "max_position_notional",
    "first_fill_frac", "last_fill_frac", "traded_symbols_abs_return", "traded_symbols_range",
]


def _pnl_paths(rng, n_s, n_t, scale, skill, p_trade):
    """Daily traded flags, net P&L (USD) and tilt (0..) per session x trader."""
    regime = np.ones(n_s)
    volatile = False
    for t in range(n_s):  # market regime: a two-state Markov chain over dates
        volatile = rng.random() < (0.9 if volatile else 0.05)
        regime[t] = 1.8 if volatile else 1.0
    traded = rng.random((n_s, n_t)) < p_trade
    pnl = np.zeros((n_s, n_t))
    tilt = np.zeros((n_s, n_t))
    cur = np.zeros(n_t)
    shocks = rng.standard_t(4, size=(n_s, n_t)) / np.sqrt(2.0)
    for t in range(n_s):
        day = scale * (skill - 0.5 * cur + regime[t] * (1 + 0.5 * cur) * shocks[t])
        pnl[t] = day
        tilt[t] = cur
        lost = traded[t] & (day < 0)
        cur = np.where(traded[t], 0.6 * cur + lost * 0.8, cur)
    return traded, pnl, tilt, regime


def make_panel(n_traders: int = 8, n_sessions: int = 120, seed: int = 0,
               start: str = "2024-01-02") -> pd.DataFrame:
    """A panel frame sorted by (trade_date, trader_id)."""
    rng = np.random.default_rng(seed)
    n_s, n_t = n_sessions, n_traders
    dates = pd.bdate_range(start, periods=n_s)
    ids = np.array([f"T{i + 1:04d}" for i in range(n_t)])
    join = np.where(rng.random(n_t) < 0.6, 0, rng.integers(0, max(n_s // 2, 1), n_t))
    join[0] = 0
    quit_ = np.where(rng.random(n_t) < 0.15, rng.integers(n_s // 2, n_s, n_t), n_s + 100)
    scale = rng.lognormal(np.log(800), 0.5, n_t)
    skill = rng.normal(0.05, 0.1, n_t)
    traded, pnl, tilt, regime = _pnl_paths(rng, n_s, n_t, scale, skill,
                                           rng.uniform(0.7, 0.95, n_t))
    s_idx = np.arange(n_s)[:, None]
    traded = (traded | (s_idx == join)) & (s_idx >= join) & (s_idx <= quit_)
    roster = (s_idx >= join) & (s_idx <= quit_ + 20)

    shape = (n_s, n_t)
    busy = 1 + 0.6 * tilt
    n_orders = rng.poisson(20 * busy) + 1
    fills_per_order = 1 + rng.gamma(2.0, 0.3, shape)
    avg_order_notional = scale * 20 * busy * rng.lognormal(0, 0.2, shape)
    qty = n_orders * avg_order_notional / 50.0
    fees = 0.002 * n_orders * avg_order_notional / 100
    add = rng.beta(4, 4, shape)
    hold_w = rng.gamma(3, 200, shape)
    cols = {
        "net_pnl": pnl, "fees": fees, "gross_pnl": pnl + fees, "n_orders": n_orders,
        "n_fills": np.round(n_orders * fills_per_order), "qty": qty,
        "notional": n_orders * avg_order_notional, "n_symbols": rng.poisson(3 * busy) + 1,
        "n_routes": rng.integers(1, 4, shape), "add_liq_rate": add, "remove_liq_rate": 1 - add,
        "first_hour_fill_rate": rng.beta(2, 6, shape),
        "last_hour_fill_rate": rng.beta(2, 6, shape) + 0.1 * tilt / (1 + tilt),
        "buy_rate": rng.beta(5, 5, shape), "fills_per_order": fills_per_order,
        "avg_order_duration_s": rng.gamma(2, 30, shape),
        "price_impact_bps": rng.gamma(2, 1.5, shape) * busy,
        "cost_per_share": rng.gamma(3, 0.001, shape), "eff_spread_bps": rng.gamma(3, 1.0, shape),
        "fee_rate_bps": rng.gamma(4, 0.5, shape), "n_round_trips": rng.poisson(8 * busy),
        "rt_win_rate": rng.beta(5, 5, shape),
        "intraday_max_drawdown": np.abs(pnl) * rng.uniform(0.3, 1.5, shape),
        "time_of_low_frac": rng.random(shape), "trades_after_loss": rng.poisson(2 * busy),
        "size_after_loss_ratio": rng.lognormal(0.2 * tilt, 0.2, shape),
        "reentry_time_after_loss_s": rng.gamma(2, 60, shape) / busy,
        "hold_time_losers_s": hold_w * rng.lognormal(0.3, 0.3, shape),
        "hold_time_winners_s": hold_w, "size_escalation": rng.normal(0.1 * tilt, 0.1, shape),
        "avg_order_notional": avg_order_notional,
        "max_position_notional": avg_order_notional * rng.uniform(2, 6, shape) * busy,
        "first_fill_frac": rng.beta(1, 8, shape), "last_fill_frac": 1 - rng.beta(1, 8, shape),
        "traded_symbols_abs_return": np.abs(rng.normal(0, 0.01, shape)) * regime[:, None],
        "traded_symbols_range": rng.gamma(3, 0.006, shape) * regime[:, None],
    }
    frame = pd.DataFrame({
        "trade_date": np.repeat(dates.date, n_t), "trader_id": np.tile(ids, n_s),
        "traded": traded.ravel(),
        **{k: np.asarray(v, dtype=float).ravel() for k, v in cols.items()},
    })
    frame.loc[~frame["traded"], AGGREGATES] = np.nan
    unreal = rng.normal(0, 50, n_s * n_t)
    frame["unrealized_delta"] = unreal
    frame["total_pnl"] = np.where(frame["traded"], frame["net_pnl"] + unreal, unreal)
    return frame[roster.ravel()].reset_index(drop=True)


# --- Features and labels for the model tests (and bench.train_synthetic) ---
# Synthetic features and labels for the model tests and the training bench.
#
# Each trader has AR(1) latent signals; the chance of a large loss tomorrow is
# sigmoid(base_trader + 1.6 f1 - 1.2 f2 + 0.9 f3), so three features (and trader identity) carry
# real skill and the rest are noise. Raw features are on trader-specific scales (offset and scale
# per trader), which is what the pooled model's per-trader normalisation must undo. About 8% of
# roster days are not traded: their net_pnl_d0 is NaN and label_date jumps to the next traded day.

SIGNAL = {"f1": 1.6, "f2": -1.2, "f3": 0.9}


def _ar1_signals(rng: np.random.Generator, n: int, k: int, phi: float = 0.7) -> np.ndarray:
    out = np.zeros((n, k))
    eps = rng.normal(size=(n, k)) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + eps[t]
    return out


def _one_trader(rng, tid: str, dates: pd.DatetimeIndex, n_features: int):
    n = len(dates)
    z = _ar1_signals(rng, n, n_features)
    base = rng.normal(-2.3, 0.5)
    logit = base + sum(w * z[:, i] for i, w in enumerate(SIGNAL.values()))
    p = 1 / (1 + np.exp(-logit))
    sigma = rng.uniform(500, 3000)
    mu = rng.normal(0.1, 0.05) * sigma
    traded = rng.random(n) > 0.08
    traded[0] = True
    # P&L realised on day t depends on the signals of the previous traded day.
    loss = np.zeros(n, dtype=bool)
    pnl = np.full(n, np.nan)
    threshold = -1.5 * sigma
    prev = None
    for t in range(n):
        if not traded[t]:
            continue
        if prev is None:
            pnl[t] = rng.normal(mu, sigma * 0.5)
        elif rng.random() < p[prev]:
            pnl[t] = threshold - abs(rng.normal(0, sigma))
            loss[t] = True
        else:
            pnl[t] = max(rng.normal(mu, sigma * 0.6), threshold + 1)
        prev = t
    s = pd.Series(pnl)
    traded_pnl = s.dropna()
    cum = s.fillna(0).cumsum()
    streak = np.zeros(n)
    for t in range(1, n):
        streak[t] = (streak[t - 1] + 1 if pnl[t] < 0 else 0) if traded[t] else streak[t - 1]
    offsets = rng.normal(0, 5, n_features)
    scales = rng.uniform(0.5, 20, n_features)
    feats = pd.DataFrame(z * scales + offsets, columns=[f"f{i + 1}" for i in range(n_features)])
    feats.insert(0, "trader_id", tid)
    feats.insert(0, "trade_date", dates.date)
    feats["net_pnl_d0"] = pnl
    feats["loss_streak"] = streak
    feats["drawdown_21d"] = (cum.rolling(21, min_periods=1).max() - cum).to_numpy()
    vol = traded_pnl.rolling(21, min_periods=5).std().reindex(s.index).ffill()
    feats["pnl_vol_21d"] = vol.to_numpy()
    feats["large_losses_5d"] = pd.Series(loss.astype(float)).rolling(5, min_periods=1).sum().values
    feats["traded_d0"] = traded.astype(float)
    # Labels: next traded session after D.
    idx = np.arange(n)
    nxt = pd.Series(np.where(traded, idx, np.nan)).shift(-1)[::-1].bfill()[::-1].to_numpy()
    ok = ~np.isnan(nxt)
    j = np.where(ok, nxt, 0).astype(int)
    labels = pd.DataFrame({
        "trade_date": dates.date, "trader_id": tid,
        "label_date": pd.Series(np.where(ok, dates[j].date, None)),
        "next_net_pnl": np.where(ok, pnl[j], np.nan),
        "large_loss": pd.array(np.where(ok, loss[j], 0).astype(int), dtype="Int8"),
        "large_loss_threshold": threshold,
        "label_status": np.where(ok, "complete", "pending"),
    })
    labels.loc[~ok, "large_loss"] = pd.NA
    return feats, labels


def make_synthetic(n_traders: int = 3, n_days: int = 500, n_features: int = 30,
                   seed: int = 0, start: str = "2023-01-02") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, labels) frames following the trader_features / risk_labels contracts."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days)
    parts = [_one_trader(rng, f"T{i + 1:04d}", dates, n_features) for i in range(n_traders)]
    features = pd.concat([p[0] for p in parts], ignore_index=True)
    labels = pd.concat([p[1] for p in parts], ignore_index=True)
    return features, labels
