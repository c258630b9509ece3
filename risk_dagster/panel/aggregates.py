"""Daily fills aggregates per (trade_date, trader_id), computed in one DuckDB query.

Definitions (all per trader-day; "fills" are that trader's fills of the day):

- ``n_orders``/``n_fills``/``qty`` (shares)/``notional`` (USD)/``n_symbols``/``n_routes``: counts
  and sums; ``n_routes`` counts distinct non-null routes.
- ``add_liq_rate``/``remove_liq_rate``: fraction of the fills with a known liquidity flag that
  added/removed liquidity (NaN when no fill reports the flag).
- ``first_hour_fill_rate``/``last_hour_fill_rate``: fraction of fills in the first/last 60 minutes
  of the session (``session_bounds``; for 24/7 the UTC day). Fills outside the session count in the
  denominator only.
- ``buy_rate``: fraction of fills that are buys.
- ``fills_per_order``: n_fills / n_orders.
- ``avg_order_duration_s``: mean over orders of (last fill ts - first fill ts), seconds.
- ``price_impact_bps``: per order, the signed move from its first fill price to its last fill
  price in the order's direction (side of its first fill), in bps; averaged over the day's orders
  weighted by order notional. A one-fill order has impact 0.
- ``eff_spread_bps``: per fill, 2 x |price - ref| / ref in bps, where ref is the firm-wide VWAP of
  that symbol in the same 5-minute bucket (UTC epoch aligned; in price units, so a future's point
  value cancels); notional-weighted over the fills. ``notional`` is qty x price x multiplier (USD
  for futures too).
- ``cost_per_share``: fees / qty (USD/share); ``fee_rate_bps``: fees / notional in bps.
- ``avg_order_notional``: notional / n_orders (USD).
- ``first_fill_frac``/``last_fill_frac``: first/last fill time as a fraction of the session
  (0 = open, 1 = close, clipped).
- ``traded_symbols_abs_return``/``traded_symbols_range``: for each symbol the day's firm-wide
  fills give open (first fill price), close (last), high, low; per trader the notional-weighted
  mean of |close/open - 1| and (high - low)/open over the symbols they traded (fractions).
- ``fills_fees`` (USD): sum of fees; ``fills_gross_pnl`` (USD): sum of the fills' reported
  ``realized_pnl`` (fills without it count as 0; NaN when no fill reports it). Used when the
  source has no daily totals.

"First"/"last" fill order by (ts, fill_id), so ties are broken the same way everywhere (in SQL
``first(x ORDER BY t_us, fill_id)``: the value at the earliest fill, cheaper for DuckDB than
``arg_min`` over a (t_us, fill_id) struct; price and side are never null in stored fills).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from risk_dagster.panel.session_times import session_table

EFF_SPREAD_BUCKET_MINUTES = 5
_SESSIONS_VIEW = "panel_session_bounds_"

AGGREGATE_COLUMNS = [
    "n_orders", "n_fills", "qty", "notional", "n_symbols", "n_routes",
    "add_liq_rate", "remove_liq_rate", "first_hour_fill_rate", "last_hour_fill_rate", "buy_rate",
    "fills_per_order", "avg_order_duration_s", "price_impact_bps", "cost_per_share",
    "eff_spread_bps", "fee_rate_bps", "avg_order_notional", "first_fill_frac", "last_fill_frac",
    "traded_symbols_abs_return", "traded_symbols_range", "fills_fees", "fills_gross_pnl",
]

_SQL = """
WITH f AS (
    SELECT trade_date, trader_id, symbol, side, qty, price, notional, fees, liquidity, route,
           order_id, fill_id, realized_pnl, epoch_us(ts) AS t_us
    FROM {fills}
),
sym AS (
    SELECT trade_date, symbol,
           first(price ORDER BY t_us, fill_id) AS o, last(price ORDER BY t_us, fill_id) AS c,
           max(price) AS h, min(price) AS l
    FROM f GROUP BY trade_date, symbol
),
bucket AS (
    SELECT trade_date, symbol, t_us // $bucket_us AS b, sum(qty * price) / sum(qty) AS vwap
    FROM f GROUP BY trade_date, symbol, b
),
ord AS (
    SELECT trade_date, trader_id, order_id,
           (max(t_us) - min(t_us)) / 1e6 AS duration_s,
           sum(notional) AS o_notional,
           CASE WHEN first(side ORDER BY t_us, fill_id) = 'B' THEN 1.0 ELSE -1.0 END
             * (last(price ORDER BY t_us, fill_id) / first(price ORDER BY t_us, fill_id) - 1) * 1e4
             AS impact_bps
    FROM f GROUP BY trade_date, trader_id, order_id
),
ord_day AS (
    SELECT trade_date, trader_id, count(*) AS n_orders,
           avg(duration_s) AS avg_order_duration_s,
           sum(impact_bps * o_notional) / nullif(sum(o_notional), 0) AS price_impact_bps
    FROM ord GROUP BY trade_date, trader_id
),
day AS (
    SELECT f.trade_date, f.trader_id,
        count(*) AS n_fills,
        sum(f.qty) AS qty,
        sum(f.notional) AS notional,
        count(DISTINCT f.symbol) AS n_symbols,
        count(DISTINCT f.route) AS n_routes,
        count(*) FILTER (WHERE f.liquidity = 'add') / nullif(count(f.liquidity), 0) AS add_liq_rate,
        count(*) FILTER (WHERE f.liquidity = 'remove') / nullif(count(f.liquidity), 0)
            AS remove_liq_rate,
        avg(CASE WHEN s.open_us IS NULL THEN NULL
                 WHEN f.t_us >= s.open_us AND f.t_us < s.open_us + 3600e6 THEN 1.0 ELSE 0.0 END)
            AS first_hour_fill_rate,
        avg(CASE WHEN s.close_us IS NULL THEN NULL
                 WHEN f.t_us >= s.close_us - 3600e6 AND f.t_us <= s.close_us THEN 1.0 ELSE 0.0 END)
            AS last_hour_fill_rate,
        avg(CASE WHEN f.side = 'B' THEN 1.0 ELSE 0.0 END) AS buy_rate,
        sum(f.fees) AS fills_fees,
        sum(f.realized_pnl) AS fills_gross_pnl,
        sum(2 * abs(f.price - b.vwap) / b.vwap * 1e4 * f.notional) / nullif(sum(f.notional), 0)
            AS eff_spread_bps,
        sum(f.notional * abs(sym.c / sym.o - 1)) / nullif(sum(f.notional), 0)
            AS traded_symbols_abs_return,
        sum(f.notional * (sym.h - sym.l) / sym.o) / nullif(sum(f.notional), 0)
            AS traded_symbols_range,
        greatest(0.0, least(1.0, (min(f.t_us) - any_value(s.open_us))
            / nullif(any_value(s.close_us) - any_value(s.open_us), 0))) AS first_fill_frac,
        greatest(0.0, least(1.0, (max(f.t_us) - any_value(s.open_us))
            / nullif(any_value(s.close_us) - any_value(s.open_us), 0))) AS last_fill_frac
    FROM f
    JOIN sym ON sym.trade_date = f.trade_date AND sym.symbol = f.symbol
    JOIN bucket b ON b.trade_date = f.trade_date AND b.symbol = f.symbol
        AND b.b = f.t_us // $bucket_us
    LEFT JOIN {sessions} s ON s.trade_date = f.trade_date
    GROUP BY f.trade_date, f.trader_id
)
SELECT day.trade_date, day.trader_id,
    n_orders, n_fills, qty, notional, n_symbols, n_routes,
    add_liq_rate, remove_liq_rate, first_hour_fill_rate, last_hour_fill_rate, buy_rate,
    n_fills / n_orders AS fills_per_order,
    avg_order_duration_s, price_impact_bps,
    fills_fees / nullif(qty, 0) AS cost_per_share,
    eff_spread_bps,
    fills_fees / nullif(notional, 0) * 1e4 AS fee_rate_bps,
    notional / n_orders AS avg_order_notional,
    first_fill_frac, last_fill_frac, traded_symbols_abs_return, traded_symbols_range,
    fills_fees, fills_gross_pnl
FROM day JOIN ord_day USING (trade_date, trader_id)
ORDER BY day.trade_date, day.trader_id
"""


def _identifier(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"fills relation must be a plain identifier, got {name!r}")
    return f'"{name}"'


def fills_daily_aggregates(
    con: duckdb.DuckDBPyConnection, fills_relation: str, *, calendar: str
) -> pd.DataFrame:
    """Activity and fills aggregates per (trade_date, trader_id), one DuckDB query.

    ``fills_relation`` is the name of a table or view in ``con`` with the FILLS columns (for
    example a view over the Parquet partitions of a chunk of dates). It must hold every trader's
    fills of each date it covers, since the market-context and spread references are firm-wide.
    Returns ``trade_date`` (python date), ``trader_id`` and ``AGGREGATE_COLUMNS`` (units in the
    module docstring), sorted by date and trader; trader-days without fills are absent.
    """
    fills = _identifier(fills_relation)
    dates = [r[0] for r in con.sql(f"SELECT DISTINCT trade_date FROM {fills}").fetchall()]
    bounds = session_table(calendar, dates)
    con.register(_SESSIONS_VIEW, bounds)
    try:
        sql = _SQL.format(fills=fills, sessions=_SESSIONS_VIEW)
        params = {"bucket_us": EFF_SPREAD_BUCKET_MINUTES * 60 * 1_000_000}
        out = con.sql(sql, params=params).to_arrow_table().to_pandas()
    finally:
        con.unregister(_SESSIONS_VIEW)
    count_cols = ["n_orders", "n_fills", "n_symbols", "n_routes"]
    out[count_cols] = out[count_cols].astype("int64")
    return out
