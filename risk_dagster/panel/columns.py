"""The trader_day_panel columns: name, dtype, unit and description, for the catalog and asset
metadata. Definitions are in the docstrings of ``aggregates`` and ``intraday``."""

from __future__ import annotations

PANEL_COLUMNS: list[tuple[str, str, str, str]] = [
    ("trade_date", "date", "date", "session date"),
    ("trader_id", "string", "id", "trader / account id"),
    ("traded", "bool", "flag", "the trader had fills that day"),
    ("pnl_source", "string", "label", "'totals' (daily totals), 'fills' (fills' realized P&L) or "
     "'round_trips' (average-cost reconstruction); null on a non-traded day without totals"),
    # P&L
    ("gross_pnl", "float64", "USD", "realized P&L before fees; NaN when not traded"),
    ("fees", "float64", "USD", "fees and commissions (cost > 0); NaN when not traded"),
    ("net_pnl", "float64", "USD", "gross_pnl - fees; NaN when not traded"),
    ("unrealized_delta", "float64", "USD", "change in unrealized P&L, from totals (NaN without)"),
    ("total_pnl", "float64", "USD", "net_pnl + unrealized_delta, from totals (NaN without)"),
    # activity
    ("n_orders", "float64", "count", "orders with at least one fill"),
    ("n_fills", "float64", "count", "fills"),
    ("qty", "float64", "shares", "filled quantity"),
    ("notional", "float64", "USD", "traded notional"),
    ("n_symbols", "float64", "count", "distinct symbols traded"),
    ("n_routes", "float64", "count", "distinct routes used (non-null)"),
    # fills aggregates
    ("add_liq_rate", "float64", "fraction", "fills adding liquidity / fills with a known flag"),
    ("remove_liq_rate", "float64", "fraction", "fills removing liquidity / fills with a known flag"),
    ("first_hour_fill_rate", "float64", "fraction", "fills in the session's first 60 minutes"),
    ("last_hour_fill_rate", "float64", "fraction", "fills in the session's last 60 minutes"),
    ("buy_rate", "float64", "fraction", "fills that are buys"),
    ("fills_per_order", "float64", "count", "n_fills / n_orders"),
    ("avg_order_duration_s", "float64", "seconds", "mean of last - first fill time per order"),
    ("price_impact_bps", "float64", "bps", "notional-weighted signed move from an order's first "
     "to last fill price, in the order's direction"),
    ("cost_per_share", "float64", "USD/share", "fees / qty"),
    ("eff_spread_bps", "float64", "bps", "notional-weighted 2|price - ref|/ref, ref = firm-wide "
     "symbol VWAP in the fill's 5-minute bucket"),
    ("fee_rate_bps", "float64", "bps", "fees / notional"),
    # intraday behaviour
    ("n_round_trips", "float64", "count", "complete round trips (flat to flat or flip)"),
    ("rt_win_rate", "float64", "fraction", "complete round trips with net P&L > 0"),
    ("intraday_max_drawdown", "float64", "USD", "largest fall of cumulative net realized P&L from "
     "its running peak (>= 0)"),
    ("time_of_low_frac", "float64", "fraction", "time of the day's cumulative P&L low, 0 open .. "
     "1 close"),
    ("trades_after_loss", "float64", "count", "round trips started right after a losing one"),
    ("size_after_loss_ratio", "float64", "ratio", "entry notional of trips after a loss / of the "
     "other trips"),
    ("reentry_time_after_loss_s", "float64", "seconds", "mean time from a losing trip's close to "
     "the next trip"),
    ("hold_time_losers_s", "float64", "seconds", "mean holding time of losing round trips"),
    ("hold_time_winners_s", "float64", "seconds", "mean holding time of winning round trips"),
    ("size_escalation", "float64", "1/session", "OLS slope of order notional on time of day, "
     "relative to the mean order notional"),
    ("avg_order_notional", "float64", "USD", "notional / n_orders"),
    ("max_position_notional", "float64", "USD", "largest gross open position marked at last fill "
     "prices"),
    ("first_fill_frac", "float64", "fraction", "first fill time, 0 open .. 1 close"),
    ("last_fill_frac", "float64", "fraction", "last fill time, 0 open .. 1 close"),
    # market context
    ("traded_symbols_abs_return", "float64", "fraction", "notional-weighted |close/open - 1| of "
     "the traded symbols, from the day's firm-wide fills"),
    ("traded_symbols_range", "float64", "fraction", "notional-weighted (high - low)/open of the "
     "traded symbols, from the day's firm-wide fills"),
]

PANEL_COLUMN_NAMES = [c[0] for c in PANEL_COLUMNS]
NUMERIC_COLUMNS = [c[0] for c in PANEL_COLUMNS if c[1] == "float64"]
