"""Plain-word phrases: how each feature of the catalog reads as a reason for a risk manager.

One :class:`Phrase` per feature column of ``build_features`` (``PHRASES``, keyed by name). A
phrase holds a template per sign of the value, the value's format (its unit) and words for an
unknown value, so a reason reads "3 large losses in the last 5 sessions" or "net P&L 1.7 sd
below the trader's 21-day average", never a formula, a 0/1 flag or "NaN". Families of
generated columns (``<base>_d0``, ``_ewma_7d``, ``_mean_21d``, ``_std_21d``, ``_ratio_21d``,
``_dev_21d``) get their phrase from the base's words and the suffix; every other feature has its
own line below. ``risk_dagster_tests/features/test_phrases.py`` checks that each catalog feature
has a phrase and that none renders formula text.

Nothing here imports Dagster or the feature code: the catalog adds the phrase text as a column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Value formats (the unit a value is shown in). Templates receive {v}: the formatted value (its
# magnitude when the phrase has a ``below`` template) and, with a noun, {n}: "3 large losses".
FORMATS = ("usd", "pct", "pp", "x", "sd", "bps", "duration", "count", "avg_count", "shares",
           "num", "flag", "usd_per_share", "session_share")


def usd(value: float) -> str:
    """``-4310.4`` -> ``"-$4,310"`` (whole dollars; cents below $10)."""
    sign = "-" if value < 0 else ""
    a = abs(value)
    return f"{sign}${a:,.2f}" if 0 < a < 10 else f"{sign}${a:,.0f}"


def duration(seconds: float) -> str:
    """``45`` -> ``"45 s"``, ``750`` -> ``"13 min"``, ``9000`` -> ``"2.5 h"``."""
    s = abs(seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def format_value(value: float, fmt: str) -> str:
    """``value`` in the unit ``fmt`` names (one of ``FORMATS``), as a risk manager reads it."""
    if fmt == "usd":
        return usd(value)
    if fmt == "pct":
        return f"{value:.0%}"
    if fmt == "pp":
        return f"{value * 100:.0f} percentage points"
    if fmt == "x":
        return f"{value:,.1f}×"
    if fmt == "sd":
        return f"{value:.1f} sd"
    if fmt == "bps":
        return f"{value:.1f} bps"
    if fmt == "duration":
        return duration(value)
    if fmt == "count":
        return f"{value:,.0f}"
    if fmt == "avg_count":
        return f"{value:,.1f}" if abs(value) < 10 else f"{value:,.0f}"
    if fmt == "shares":
        return f"{value:,.0f} shares"
    if fmt == "usd_per_share":
        return f"${value:,.4f} per share"
    if fmt == "session_share":
        return f"{value:.0%} of the way into the session"
    if fmt in ("num", "flag"):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    raise ValueError(f"unknown phrase format {fmt!r}; expected one of {FORMATS}")


@dataclass(frozen=True)
class Phrase:
    """How one feature reads as a reason.

    ``label``: a noun phrase for the feature ("21-day P&L volatility"); ``above``: the template
    for a positive value (or any value when ``below`` is None); ``below``: for a negative value,
    given its magnitude; ``zero``: for exactly 0 (for a flag, ``above`` is "yes" and ``zero``
    "no"); ``fmt``: the value's format; ``noun``: (singular, plural) for {n}; ``unknown``: the
    words for a missing value (default "<label> unknown").
    """

    label: str
    above: str
    below: str | None = None
    zero: str | None = None
    fmt: str = "num"
    noun: tuple[str, str] | None = None
    unknown: str | None = None

    def render(self, value: float | None) -> str:
        """The phrase with ``value`` filled in; a missing value gives the ``unknown`` words."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.unknown or f"{self.label} unknown"
        value = float(value)
        if self.fmt == "flag":
            return self.above if value >= 0.5 else (self.zero or f"not {self.label}")
        if value == 0 and self.zero is not None:
            template = self.zero
        elif value < 0 and self.below is not None:
            template, value = self.below, -value
        else:
            template = self.above
        fields = {"v": format_value(value, self.fmt)}
        if self.noun:
            k = int(round(value))
            fields["n"] = f"{k} {self.noun[0] if k == 1 else self.noun[1]}"
        return template.format(**fields)


def _p(label: str, above: str, below: str | None = None, fmt: str = "num", **kw) -> Phrase:
    return Phrase(label, above, below, fmt=fmt, **kw)


def _signed_usd(label: str, up: str, down: str) -> Phrase:
    return Phrase(label, up, down, fmt="usd")


# --- performance --------------------------------------------------------------------------
_PERFORMANCE: dict[str, Phrase] = {
    "net_pnl_d0": _signed_usd("last session's net P&L", "made {v} on the last session",
                              "lost {v} on the last session"),
    "gross_pnl_d0": _signed_usd("last session's gross P&L", "gross P&L of {v} on the last session",
                                "gross loss of {v} on the last session"),
    "fees_d0": _p("last session's fees", "paid {v} in fees on the last session", fmt="usd"),
    "unrealized_delta_d0": _signed_usd(
        "change in open P&L", "open positions gained {v} on the last session",
        "open positions lost {v} on the last session"),
    "total_pnl_d0": _signed_usd("last session's total P&L",
                                "made {v} on the last session including open positions",
                                "lost {v} on the last session including open positions"),
    "traded_d0": Phrase("traded on the last session", "traded on the last session",
                        zero="did not trade on the last session", fmt="flag",
                        unknown="not on the roster for the last session"),
    **{f"pnl_ewma_{w}d": _signed_usd(f"{w}-day P&L trend",
                                     f"averaging {{v}} a day, {w}-day weighted",
                                     f"losing {{v}} a day on average, {w}-day weighted")
       for w in (3, 7, 21)},
    **{f"pnl_mean_{w}d": _signed_usd(f"{w}-day average P&L",
                                     f"averaging {{v}} a day over the last {w} traded days",
                                     f"losing {{v}} a day on average over the last {w} traded days")
       for w in (5, 21, 63)},
    **{f"pnl_vol_{w}d": _p(f"{w}-day P&L volatility",
                           f"daily P&L swinging by {{v}}, {w}-day sd", fmt="usd")
       for w in (5, 21, 63)},
    **{f"downside_dev_{w}d": _p(f"{w}-day downside deviation",
                                f"losing days typically {{v}} deep over {w} traded days", fmt="usd")
       for w in (21, 63)},
    **{f"sortino_{w}d": _p(f"{w}-day Sortino ratio", f"{w}-day Sortino ratio of {{v}}",
                           f"{w}-day Sortino ratio of minus {{v}}") for w in (21, 63)},
    **{f"sharpe_{w}d": _p(f"{w}-day daily Sharpe ratio", f"{w}-day daily Sharpe ratio of {{v}}",
                          f"{w}-day daily Sharpe ratio of minus {{v}}") for w in (21, 63)},
    **{f"profit_factor_{w}d": _p(f"{w}-day profit factor",
                                 f"gains {{v}} the size of losses over {w} traded days", fmt="x",
                                 unknown=f"no losing day in the last {w} traded days")
       for w in (21, 63)},
    **{f"win_rate_{w}d": _p(f"{w}-day win rate", f"won on {{v}} of the last {w} traded days",
                            fmt="pct") for w in (5, 21, 63)},
    **{f"avg_win_{w}d": _p(f"{w}-day average win", f"winning days averaged {{v}} over {w} traded days",
                           fmt="usd", unknown=f"no winning day in the last {w} traded days")
       for w in (21, 63)},
    **{f"avg_loss_{w}d": _signed_usd(f"{w}-day average loss",
                                     f"losing days averaged {{v}} over {w} traded days",
                                     f"losing days averaged a {{v}} loss over {w} traded days")
       for w in (21, 63)},
    "win_loss_ratio_21d": _p("21-day win to loss size", "average win {v} the average loss, 21 days",
                             fmt="x"),
    "loss_streak": _p("loss streak", "{n} in a row", fmt="count",
                      noun=("losing day", "losing days"), zero="no losing streak"),
    "win_streak": _p("win streak", "{n} in a row", fmt="count",
                     noun=("winning day", "winning days"), zero="no winning streak"),
    "max_loss_streak_63d": _p("longest 63-day loss streak",
                              "longest losing run of the last 63 traded days: {n}", fmt="count",
                              noun=("day", "days")),
    **{f"cum_pnl_{w}d": _signed_usd(f"{w}-session P&L", f"made {{v}} over the last {w} sessions",
                                    f"lost {{v}} over the last {w} sessions",
                                    ) for w in (5, 21, 63)},
    **{f"drawdown_{w}d": _p(f"{w}-session drawdown", f"down {{v}} from the {w}-session peak",
                            fmt="usd", zero=f"at the {w}-session peak") for w in (21, 63)},
    "drawdown_from_peak": _p("drawdown from the all-time peak", "down {v} from the all-time peak",
                             fmt="usd", zero="at the all-time peak"),
    "drawdown_max_63d": _p("deepest 63-session drawdown",
                           "deepest drawdown of the last 63 sessions: {v}", fmt="usd"),
    **{f"pnl_z_{w}d": _p("net P&L against the trader's norm",
                         f"net P&L {{v}} above the trader's {w}-day average",
                         f"net P&L {{v}} below the trader's {w}-day average", fmt="sd")
       for w in (21, 63)},
    "pnl_z_all": _p("net P&L against the trader's norm",
                    "net P&L {v} above the trader's all-time average",
                    "net P&L {v} below the trader's all-time average", fmt="sd"),
    "pnl_skew_63d": _p("63-day P&L skew", "P&L skewed toward big gains, skew {v} over 63 days",
                       "P&L skewed toward big losses, skew minus {v} over 63 days"),
    "large_loss_threshold": _signed_usd("large-loss threshold", "large-loss threshold at {v}",
                                        "a loss beyond {v} counts as large for this trader"),
    "pnl_vs_threshold_d0": _p("last session against the large-loss line",
                              "made {v} the size of the large-loss line on the last session",
                              "lost {v} the large-loss line on the last session", fmt="x"),
    "large_loss_d0": Phrase("large loss on the last session", "a large loss on the last session",
                            zero="no large loss on the last session", fmt="flag",
                            unknown="last session not judged for a large loss: no trade or too "
                            "little history"),
    **{f"large_losses_{w}d": _p(f"large losses in {w} sessions",
                                f"{{n}} in the last {w} sessions", fmt="count",
                                noun=("large loss", "large losses"),
                                zero=f"no large loss in the last {w} sessions")
       for w in (5, 21, 63)},
    "days_since_large_loss": _p("time since the last large loss",
                                "last large loss {n} ago", fmt="count",
                                noun=("session", "sessions"),
                                zero="a large loss on the last session",
                                unknown="no large loss on record"),
    "intraday_max_drawdown_d0": _p("last session's intraday drawdown",
                                   "fell {v} from the day's high during the last session", fmt="usd"),
    "intraday_dd_ewma_7d": _p("7-day intraday drawdown", "intraday drawdowns of about {v}, 7-day weighted",
                              fmt="usd"),
    "intraday_dd_vs_vol_d0": _p("intraday drawdown against volatility",
                                "intraday drawdown {v} the usual daily P&L swing", fmt="x"),
    "tenure_sessions": _p("tenure", "{n} on the roster", fmt="count",
                          noun=("session", "sessions")),
    "traded_days_total": _p("traded days so far", "{n} traded so far", fmt="count",
                            noun=("day", "days")),
    "traded_rate_21d": _p("21-session trading rate", "traded on {v} of the last 21 sessions",
                          fmt="pct"),
    "sessions_since_trade": _p("time since the last trade", "last traded {n} ago", fmt="count",
                               noun=("session", "sessions"), zero="traded on the last session",
                               unknown="has not traded yet"),
}

# --- generated families -------------------------------------------------------------------
# base column -> (label, template of the value with {v}, format, format of a change in it)
_BASES: dict[str, tuple[str, str, str, str]] = {
    # activity
    "n_orders": ("orders", "{v} orders", "avg_count", "avg_count"),
    "n_fills": ("fills", "{v} fills", "avg_count", "avg_count"),
    "qty": ("filled quantity", "{v} filled", "shares", "shares"),
    "notional": ("traded notional", "{v} traded", "usd", "usd"),
    "n_symbols": ("symbols traded", "{v} symbols traded", "avg_count", "avg_count"),
    "n_routes": ("routes used", "{v} routes used", "avg_count", "avg_count"),
    "avg_order_notional": ("average order size", "average order of {v}", "usd", "usd"),
    "max_position_notional": ("largest position", "largest position of {v}", "usd", "usd"),
    "fills_per_order": ("fills per order", "{v} fills per order", "num", "num"),
    "n_round_trips": ("round trips", "{v} round trips", "avg_count", "avg_count"),
    # execution
    "add_liq_rate": ("share of fills adding liquidity", "{v} of fills adding liquidity", "pct", "pp"),
    "remove_liq_rate": ("share of fills taking liquidity", "{v} of fills taking liquidity", "pct", "pp"),
    "buy_rate": ("share of buys", "{v} of fills buys", "pct", "pp"),
    "first_hour_fill_rate": ("first-hour share of fills", "{v} of fills in the first hour", "pct", "pp"),
    "last_hour_fill_rate": ("last-hour share of fills", "{v} of fills in the last hour", "pct", "pp"),
    "price_impact_bps": ("price impact", "price impact of {v}", "bps", "bps"),
    "cost_per_share": ("cost per share", "cost of {v}", "usd_per_share", "usd_per_share"),
    "eff_spread_bps": ("effective spread", "effective spread of {v}", "bps", "bps"),
    "fee_rate_bps": ("fees against notional", "fees of {v} of notional", "bps", "bps"),
    "avg_order_duration_s": ("order duration", "orders lasting {v}", "duration", "duration"),
    "rt_win_rate": ("share of winning round trips", "{v} of round trips won", "pct", "pp"),
    # behaviour
    "trades_after_loss": ("trades right after a losing trade",
                          "{v} trades right after a losing trade", "avg_count", "avg_count"),
    "size_after_loss_ratio": ("order size after a loss", "orders after a loss {v} the size before",
                              "x", "num"),
    "reentry_time_after_loss_s": ("time to re-enter after a loss", "re-entering {v} after a loss",
                                  "duration", "duration"),
    "size_escalation": ("growth of order size through the day",
                        "order size growing by {v} through the day", "num", "num"),
    "hold_time_losers_s": ("holding time of losing trades", "holding losing trades {v}",
                           "duration", "duration"),
    "hold_time_winners_s": ("holding time of winning trades", "holding winning trades {v}",
                            "duration", "duration"),
    "first_fill_frac": ("time of the first fill", "first fill {v}", "session_share", "pp"),
    "last_fill_frac": ("time of the last fill", "last fill {v}", "session_share", "pp"),
    "time_of_low_frac": ("time of the day's P&L low", "P&L low {v}", "session_share", "pp"),
    # market
    "traded_symbols_abs_return": ("daily move of the traded symbols",
                                  "traded symbols moving {v} open to close", "pct", "pp"),
    "traded_symbols_range": ("daily range of the traded symbols",
                             "traded symbols ranging {v} of their open", "pct", "pp"),
}


def _family(base: str, suffix: str) -> Phrase:
    label, value, fmt, delta_fmt = _BASES[base]
    if suffix == "d0":
        return Phrase(f"last session's {label}", f"{value} on the last session", fmt=fmt,
                      unknown=f"no {label} on the last session")
    kind, window = suffix.rsplit("_", 1)
    days = window.removesuffix("d")
    if kind == "ewma":
        return Phrase(f"{days}-day {label}", f"{value}, {days}-day weighted average", fmt=fmt)
    if kind == "mean":
        return Phrase(f"{days}-day {label}", f"{value} on average over {days} traded days", fmt=fmt)
    if kind == "std":
        return Phrase(f"{days}-day variability of {label}",
                      f"{label} varying by {{v}} from day to day, {days}-day sd", fmt=delta_fmt)
    if kind == "ratio":
        return Phrase(f"{label} against the trader's norm",
                      f"{label} at {{v}} the trader's {days}-day average", fmt="x")
    if kind == "dev":
        return Phrase(f"{label} against the trader's norm",
                      f"{label} {{v}} above the trader's {days}-day average",
                      f"{label} {{v}} below the trader's {days}-day average", fmt=delta_fmt,
                      zero=f"{label} at the trader's {days}-day average")
    raise KeyError(f"no phrase family for suffix {suffix!r}")


_FAMILY_SUFFIXES = {
    **{b: ("d0", "ewma_7d", "ewma_21d", "mean_21d", "std_21d", "ratio_21d")
       for b in ("n_orders", "n_fills", "qty", "notional", "n_symbols", "n_routes",
                 "avg_order_notional", "max_position_notional", "fills_per_order", "n_round_trips")},
    **{b: ("d0", "ewma_7d", "mean_21d", "std_21d")
       for b in ("add_liq_rate", "remove_liq_rate", "buy_rate", "first_hour_fill_rate",
                 "last_hour_fill_rate", "price_impact_bps", "cost_per_share", "eff_spread_bps",
                 "fee_rate_bps", "avg_order_duration_s", "rt_win_rate")},
    **{b: ("d0", "ewma_7d", "dev_21d")
       for b in ("trades_after_loss", "size_after_loss_ratio", "reentry_time_after_loss_s",
                 "size_escalation", "hold_time_losers_s", "hold_time_winners_s",
                 "first_fill_frac", "last_fill_frac", "time_of_low_frac")},
    **{b: ("d0", "ewma_7d", "ewma_21d", "mean_63d", "std_21d")
       for b in ("traded_symbols_abs_return", "traded_symbols_range")},
}
# ratio columns whose names differ from the base (the contract names of trader_features)
_RATIO_NAMES = {"n_fills": "activity_ratio_21d", "avg_order_notional": "size_ratio_21d"}


def _family_phrases() -> dict[str, Phrase]:
    out = {}
    for base, suffixes in _FAMILY_SUFFIXES.items():
        for suffix in suffixes:
            name = f"{base}_{suffix}"
            if suffix == "ratio_21d":
                name = _RATIO_NAMES.get(base, name)
            out[name] = _family(base, suffix)
    out["activity_ratio_21d"] = _p("activity against the trader's norm",
                                   "traded {v} the trader's usual number of fills", fmt="x")
    out["size_ratio_21d"] = _p("order size against the trader's norm",
                               "orders {v} the trader's usual size", fmt="x")
    return out


# --- execution, behaviour, market and cross specials --------------------------------------
_SLOPE = "per traded day over 21 days"
_SPECIALS: dict[str, Phrase] = {
    "cost_per_share_slope_21d": _p("trend of cost per share", f"cost per share rising {{v}} {_SLOPE}",
                                   f"cost per share falling {{v}} {_SLOPE}", fmt="usd_per_share"),
    "price_impact_slope_21d": _p("trend of price impact", f"price impact rising {{v}} {_SLOPE}",
                                 f"price impact falling {{v}} {_SLOPE}", fmt="bps"),
    "eff_spread_slope_21d": _p("trend of effective spread", f"effective spread widening {{v}} {_SLOPE}",
                               f"effective spread narrowing {{v}} {_SLOPE}", fmt="bps"),
    "fee_rate_slope_21d": _p("trend of fees", f"fees rising {{v}} of notional {_SLOPE}",
                             f"fees falling {{v}} of notional {_SLOPE}", fmt="bps"),
    "market_impact_trend": _p("recent price impact against its norm",
                              "price impact {v} above its 63-day average this week",
                              "price impact {v} below its 63-day average this week", fmt="bps"),
    "liquidity_consistency_21d": _p("swings in liquidity taking",
                                    "share of fills adding liquidity changing by {v} a day",
                                    fmt="pp"),
    "execution_stress_d0": _p("execution stress", "execution costs {v} above the trader's norm",
                              "execution costs {v} below the trader's norm", fmt="sd"),
    "execution_stress_ewma_7d": _p("7-day execution stress",
                                   "execution costs {v} above the trader's norm this week",
                                   "execution costs {v} below the trader's norm this week", fmt="sd"),
    "prev_large_loss": Phrase("large loss on the previous traded day",
                              "the previous traded day was a large loss",
                              zero="no large loss on the previous traded day", fmt="flag",
                              unknown="no earlier traded day judged for a large loss"),
    "revenge_activity_d0": _p("activity after a large loss",
                              "traded {v} the usual number of fills the day after a large loss",
                              fmt="x", zero="no large loss the day before"),
    "revenge_size_d0": _p("order size after a large loss",
                          "traded {v} the usual size the day after a large loss", fmt="x",
                          zero="no large loss the day before"),
    "revenge_position_d0": _p("position size after a large loss",
                              "held positions {v} the usual size the day after a large loss",
                              fmt="x", zero="no large loss the day before"),
    "revenge_episodes_63d": _p("revenge trading episodes",
                               "{n} of heavy trading right after a large loss in 63 traded days",
                               fmt="count", noun=("day", "days"),
                               zero="no heavy trading after a large loss in 63 traded days"),
    "overtrading_ratio_63d": _p("orders against the 63-day norm",
                                "placed {v} the trader's usual number of orders", fmt="x"),
    "overtrading_days_21d": _p("overtrading days",
                               "{n} with more than twice the usual orders in 21 traded days",
                               fmt="count", noun=("day", "days"),
                               zero="no overtrading day in 21 traded days"),
    "size_change_d0": _p("change in order size", "orders {v} larger than the previous traded day",
                         "orders {v} smaller than the previous traded day", fmt="pct"),
    "size_after_gain_d0": _p("change in order size after a gain",
                             "orders {v} larger after a winning day",
                             "orders {v} smaller after a winning day", fmt="pct",
                             unknown="previous traded day was not a gain"),
    "size_after_loss_d0": _p("change in order size after a loss",
                             "orders {v} larger after a losing day",
                             "orders {v} smaller after a losing day", fmt="pct",
                             unknown="previous traded day was not a loss"),
    "size_escalation_vs_pnl_21d": _p("sizing up after gains or losses",
                                     "sizes up after gains by {v} on average over 21 days",
                                     "sizes up after losses by {v} on average over 21 days",
                                     fmt="pct"),
    "late_session_shift_d0": _p("last-hour trading against the norm",
                                "{v} more of the fills in the last hour than usual",
                                "{v} fewer of the fills in the last hour than usual", fmt="pp"),
    "disposition_d0": _p("holding losers against winners",
                         "held losing trades {v} longer than winners on the last session",
                         "held winning trades {v} longer than losers on the last session",
                         fmt="num"),
    "disposition_ewma_21d": _p("holding losers against winners, 21 days",
                               "holds losing trades longer than winners, log ratio {v}",
                               "holds winning trades longer than losers, log ratio {v}"),
    "symbols_vs_baseline_63d": _p("symbols against the trader's norm",
                                  "traded {v} the trader's usual number of symbols", fmt="x"),
    "unusual_hours_d0": _p("unusual trading hours",
                           "trading hours {v} away from the trader's routine", fmt="sd"),
    "routine_break_d0": _p("break from routine",
                           "hours, symbols and routes {v} away from the trader's routine",
                           fmt="sd"),
    "mkt_vol_regime": _p("volatility of the traded symbols",
                         "traded symbols {v} as volatile as their 63-day norm", fmt="x"),
    "mkt_range_slope_21d": _p("trend of the traded symbols' range",
                              f"traded symbols' range widening {{v}} {_SLOPE}",
                              f"traded symbols' range narrowing {{v}} {_SLOPE}", fmt="pp"),
    "firm_pnl_mean": _signed_usd("firm average P&L", "the firm's traders made {v} on average",
                                 "the firm's traders lost {v} on average"),
    "firm_pnl_median": _signed_usd("firm median P&L", "the median trader made {v}",
                                   "the median trader lost {v}"),
    "firm_pnl_dispersion": _p("spread of P&L across the firm",
                              "traders' P&L spread by {v} across the firm", fmt="usd"),
    "firm_traded_frac": _p("share of the firm trading", "{v} of the roster traded", fmt="pct"),
    "firm_loss_frac": _p("share of the firm losing", "{v} of the firm's traders lost money",
                         fmt="pct"),
    "firm_range_mean": _p("firm-wide market range", "traded symbols ranging {v} firm-wide",
                          fmt="pct"),
    "firm_abs_return_mean": _p("firm-wide market move", "traded symbols moving {v} firm-wide",
                               fmt="pct"),
    "firm_intraday_dd_median": _p("firm median intraday drawdown",
                                  "the median trader fell {v} from the day's high", fmt="usd"),
    "firm_n_fills_mean": _p("firm average fills", "{v} fills per trader across the firm",
                            fmt="avg_count"),
    "firm_large_loss_frac": _p("share of the firm with a large loss",
                               "{v} of the firm's traders had a large loss", fmt="pct"),
    "firm_pnl_mean_ewma_5d": _signed_usd("firm P&L trend",
                                         "the firm's traders averaging {v}, 5-day weighted",
                                         "the firm's traders losing {v} on average, 5-day weighted"),
    "firm_pnl_vol_21d": _p("firm P&L volatility", "the firm's average P&L swinging by {v}, 21-day sd",
                           fmt="usd"),
    "firm_range_ewma_5d": _p("firm-wide range, 5 days", "traded symbols ranging {v}, 5-day weighted",
                             fmt="pct"),
    "firm_range_ewma_21d": _p("firm-wide range, 21 days",
                              "traded symbols ranging {v}, 21-day weighted", fmt="pct"),
    "firm_dispersion_ewma_5d": _p("spread of P&L across the firm, 5 days",
                                  "traders' P&L spread by {v}, 5-day weighted", fmt="usd"),
    "firm_loss_frac_ewma_5d": _p("share of the firm losing, 5 days",
                                 "{v} of the firm's traders losing, 5-day weighted", fmt="pct"),
    "firm_large_loss_frac_ewma_5d": _p("share of the firm with large losses, 5 days",
                                       "{v} of the firm's traders with a large loss, 5-day weighted",
                                       fmt="pct"),
    "firm_vol_regime": _p("market volatility regime",
                          "markets {v} as volatile as their 63-day norm", fmt="x"),
    "pnl_rank_firm_d0": _p("P&L rank in the firm",
                           "net P&L better than {v} of the firm's traders", fmt="pct"),
    "pnl_vs_firm_median_d0": _signed_usd("P&L against the firm median",
                                         "made {v} more than the median trader",
                                         "made {v} less than the median trader"),
    "activity_rank_firm_d0": _p("activity rank in the firm",
                                "more fills than {v} of the firm's traders", fmt="pct"),
    "loss_streak_x_vol_regime": _p("loss streak in a volatile market",
                                   "losing streak weighted by market volatility: {v} days",
                                   zero="no losing streak"),
    "loss_streak_x_mkt_regime": _p("loss streak in volatile symbols",
                                   "losing streak weighted by the symbols' volatility: {v} days",
                                   zero="no losing streak"),
    "drawdown_21d_norm": _p("21-session drawdown against volatility",
                            "down {v} the usual daily swing from the 21-session peak", fmt="x",
                            zero="at the 21-session peak"),
    "drawdown_norm_x_activity": _p("drawdown with rising activity",
                                   "in drawdown while trading more, intensity {v}",
                                   zero="no drawdown"),
    "large_losses_5d_x_size": _p("large losses with larger orders",
                                 "large losses in 5 sessions weighted by order size: {v}",
                                 zero="no large loss in the last 5 sessions"),
    "revenge_x_vol_regime": _p("trading after a large loss in a volatile market",
                               "trading hard after a large loss in a volatile market, {v}",
                               fmt="x", zero="no large loss the day before"),
    "pnl_z_x_firm_loss_frac": _p("bad day on a bad day for the firm",
                                 "good day while the firm lost, score {v}",
                                 "bad day while the firm lost, score minus {v}"),
    "tilt_score": _p("tilt: losing streak with more and larger trades",
                     "tilt score {v}: losing streak with more and larger trades",
                     zero="no sign of tilt"),
    "threshold_to_vol": _p("large-loss line against volatility",
                           "large-loss line at {v} the usual daily swing", fmt="x"),
    "pnl_momentum_norm": _p("recent P&L trend", "3-day P&L trend {v} above the 21-day average",
                            "3-day P&L trend {v} below the 21-day average", fmt="sd"),
    "intraday_dd_x_vol_regime": _p("intraday drawdown in a volatile market",
                                   "intraday drawdown {v} the usual swing, volatility weighted",
                                   fmt="x"),
}

PHRASES: dict[str, Phrase] = {**_PERFORMANCE, **_family_phrases(), **_SPECIALS}


def phrase_for(name: str) -> Phrase:
    """The phrase of feature ``name``; a name outside the catalog reads as its words."""
    if name in PHRASES:
        return PHRASES[name]
    words = name.replace("_", " ")
    return Phrase(words, f"{words} at {{v}}")


def render_phrase(name: str, value: float | None) -> str:
    """Feature ``name`` at ``value`` in plain words ("3 large losses in the last 5 sessions")."""
    return phrase_for(name).render(value)


# Marks of formula or code text that a plain-word reason must not contain.
_FORMULA_MARKS = re.compile(
    r"_|\(|\)|\[|\]|\{|\}|\||=|\w/\w|\b0/1\b|\bif\b|\belse\b|\bnan\b|\bNaN\b|\bNone\b|\binf\b"
    r"|\bEWMA\b|\bOLS\b|\bz-score\b|\blog\(|\bx\b", re.IGNORECASE)


def formula_marks(text: str) -> list[str]:
    """The formula or code marks found in ``text`` (``_``, brackets, ``a/b``, ``if``/``else``,
    ``NaN``, ``0/1``, a bare ``x`` for times...): empty for a plain-word reason."""
    return [m.group(0) for m in _FORMULA_MARKS.finditer(text)]
