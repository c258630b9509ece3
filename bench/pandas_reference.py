"""The daily fills aggregates written the pandas way (one groupby per account-day, another per
order, merged), as the project we learn from did it: the yardstick for
``risk_dagster.panel.fills_daily_aggregates``. Same columns, same definitions (see
``risk_dagster.panel.aggregates``), so the two can be compared value by value.

Run the comparison (from the repository root):
    .venv/bin/python -m bench.pandas_reference --traders 500 --days 60 --fills 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time

import duckdb
import numpy as np
import pandas as pd

from risk_dagster.panel.aggregates import AGGREGATE_COLUMNS, EFF_SPREAD_BUCKET_MINUTES
from risk_dagster.panel.session_times import session_table


def pandas_daily_aggregates(fills: pd.DataFrame, *, calendar: str) -> pd.DataFrame:
    """Canonical fills -> per (trade_date, trader_id) the columns of ``fills_daily_aggregates``."""
    f = fills.copy()
    f["trade_date"] = pd.to_datetime(f["trade_date"]).dt.date
    f["t_us"] = f["ts"].dt.tz_convert("UTC").astype("datetime64[us, UTC]").astype("int64")
    f = f.sort_values(["t_us", "fill_id"])
    f = f.merge(session_table(calendar, f["trade_date"].unique()), on="trade_date", how="left")
    f["first_hour"] = np.where(f["open_us"].isna(), np.nan,
                               (f["t_us"] >= f["open_us"]) & (f["t_us"] < f["open_us"] + 3600e6))
    f["last_hour"] = np.where(f["close_us"].isna(), np.nan,
                              (f["t_us"] >= f["close_us"] - 3600e6) & (f["t_us"] <= f["close_us"]))
    f["is_buy"] = (f["side"] == "B").astype(float)
    f["is_add"] = np.where(f["liquidity"].isna(), np.nan, f["liquidity"] == "add")
    f["is_remove"] = np.where(f["liquidity"].isna(), np.nan, f["liquidity"] == "remove")

    sym = f.groupby(["trade_date", "symbol"]).agg(
        o=("price", "first"), c=("price", "last"), h=("price", "max"), l=("price", "min"))
    f = f.merge(sym.reset_index(), on=["trade_date", "symbol"])
    f["bucket"] = f["t_us"] // (EFF_SPREAD_BUCKET_MINUTES * 60 * 1_000_000)
    vw = f.groupby(["trade_date", "symbol", "bucket"]).agg(bn=("notional", "sum"), bq=("qty", "sum"))
    vw["vwap"] = vw["bn"] / vw["bq"]
    f = f.merge(vw["vwap"].reset_index(), on=["trade_date", "symbol", "bucket"])
    f["spread_w"] = 2 * (f["price"] - f["vwap"]).abs() / f["vwap"] * 1e4 * f["notional"]
    f["absret_w"] = f["notional"] * (f["c"] / f["o"] - 1).abs()
    f["range_w"] = f["notional"] * (f["h"] - f["l"]) / f["o"]

    day = f.groupby(["trader_id", "trade_date"]).agg(
        n_orders=("order_id", "nunique"),
        n_fills=("fill_id", "count"),
        qty=("qty", "sum"),
        notional=("notional", "sum"),
        n_symbols=("symbol", "nunique"),
        n_routes=("route", "nunique"),
        add_liq_rate=("is_add", "mean"),
        remove_liq_rate=("is_remove", "mean"),
        first_hour_fill_rate=("first_hour", "mean"),
        last_hour_fill_rate=("last_hour", "mean"),
        buy_rate=("is_buy", "mean"),
        fills_fees=("fees", "sum"),
        fills_gross_pnl=("realized_pnl", lambda s: s.sum(min_count=1)),
        spread_w=("spread_w", "sum"),
        absret_w=("absret_w", "sum"),
        range_w=("range_w", "sum"),
        first_t=("t_us", "min"),
        last_t=("t_us", "max"),
        open_us=("open_us", "first"),
        close_us=("close_us", "first"),
    )
    orders = f.groupby(["trader_id", "trade_date", "order_id"]).agg(
        first_t=("t_us", "min"), last_t=("t_us", "max"), first_price=("price", "first"),
        last_price=("price", "last"), side=("side", "first"), o_notional=("notional", "sum"))
    orders["duration_s"] = (orders["last_t"] - orders["first_t"]) / 1e6
    direction = np.where(orders["side"] == "B", 1.0, -1.0)
    orders["impact_w"] = (direction * (orders["last_price"] / orders["first_price"] - 1) * 1e4
                          * orders["o_notional"])
    per_day = orders.groupby(["trader_id", "trade_date"]).agg(
        avg_order_duration_s=("duration_s", "mean"), impact_w=("impact_w", "sum"),
        o_notional=("o_notional", "sum"))

    out = day.join(per_day).reset_index()
    span = out["close_us"] - out["open_us"]
    out["fills_per_order"] = out["n_fills"] / out["n_orders"]
    out["price_impact_bps"] = out["impact_w"] / out["o_notional"]
    out["cost_per_share"] = out["fills_fees"] / out["qty"]
    out["eff_spread_bps"] = out["spread_w"] / out["notional"]
    out["fee_rate_bps"] = out["fills_fees"] / out["notional"] * 1e4
    out["avg_order_notional"] = out["notional"] / out["n_orders"]
    out["first_fill_frac"] = ((out["first_t"] - out["open_us"]) / span).clip(0, 1)
    out["last_fill_frac"] = ((out["last_t"] - out["open_us"]) / span).clip(0, 1)
    out["traded_symbols_abs_return"] = out["absret_w"] / out["notional"]
    out["traded_symbols_range"] = out["range_w"] / out["notional"]
    out = out.sort_values(["trade_date", "trader_id"], ignore_index=True)
    return out[["trade_date", "trader_id", *AGGREGATE_COLUMNS]]


def _timed(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    import resource

    from risk_dagster.core.calendar import sessions
    from risk_dagster.core.lake import Lake
    from risk_dagster.core.schemas import FILLS
    from risk_dagster.panel import build_trader_day_panel, fills_daily_aggregates
    from risk_dagster.panel import intraday_behaviour
    from risk_dagster_tests.factories import first_sessions, make_fills, trader_ids

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traders", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--fills", type=int, default=100, help="fills per trader-day")
    args = parser.parse_args()

    fills = make_fills(first_sessions("XNYS", dt.date(2024, 1, 2), args.days),
                       trader_ids(args.traders), args.fills)
    days = sorted(set(fills["trade_date"]))
    sessions("XNYS", days[0], days[-1])  # load the calendar outside the timings
    with tempfile.TemporaryDirectory() as root:
        lake = Lake(root)
        lake.write_many("raw_fills", "date", FILLS.to_arrow(fills), "trade_date")
        del fills
        con = duckdb.connect()
        con.read_parquet(lake.glob("raw_fills")).create_view("fills")
        # Best of 3 for the DuckDB side (a few seconds; the first run also warms the file cache);
        # the pandas side runs once.
        runs = [_timed(fills_daily_aggregates, con, "fills", calendar="XNYS") for _ in range(3)]
        fast, *t_duck = min(runs, key=lambda run: run[1])
        arrow, *t_arrow = _timed(lambda: con.read_parquet(lake.glob("raw_fills")).to_arrow_table())
        _, *t_intraday = _timed(intraday_behaviour, arrow, calendar="XNYS")
        del arrow
        rss_before_panel = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        panel, *t_panel = _timed(build_trader_day_panel, lake, days, calendar="XNYS")
        frame, *t_read = _timed(lambda: pd.read_parquet(f"{root}/raw_fills"))
        frame = frame.drop(columns=["date"], errors="ignore")
        slow, *t_pandas = _timed(pandas_daily_aggregates, frame, calendar="XNYS")
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-9)
    print(f"fills: {len(frame):,}  trader-days: {len(fast):,}  panel rows: {len(panel):,}")
    rows = [("fills_daily_aggregates (DuckDB, from Parquet)", t_duck),
            ("pandas reference (compute only)", t_pandas),
            ("pandas read_parquet", t_read),
            ("Parquet -> Arrow (DuckDB)", t_arrow),
            ("intraday_behaviour (Arrow in memory)", t_intraday),
            ("build_trader_day_panel (all dates)", t_panel)]
    for label, (wall, cpu) in rows:
        print(f"{label:48s} wall {wall:7.2f} s   cpu {cpu:7.2f} s")
    print(f"speed-up vs pandas: wall {t_pandas[0] / t_duck[0]:.1f}x, cpu {t_pandas[1] / t_duck[1]:.1f}x"
          f" (with read_parquet: wall {(t_pandas[0] + t_read[0]) / t_duck[0]:.1f}x)")
    print(f"peak RSS before build_trader_day_panel {rss_before_panel:,.0f} MB, after the whole "
          f"bench {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
