"""Assemble the trader_day_panel from the lake: roster x (fills aggregates, intraday behaviour,
daily totals), a chunk of dates at a time so memory stays bounded over years of fills."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pandas as pd

from risk_dagster.core.calendar import sessions
from risk_dagster.core.lake import Lake
from risk_dagster.panel.aggregates import fills_daily_aggregates
from risk_dagster.panel.columns import NUMERIC_COLUMNS, PANEL_COLUMN_NAMES
from risk_dagster.panel.intraday import intraday_behaviour
from risk_dagster.panel.roster import ROSTER_MAX_GAP_SESSIONS, lookback_start, roster

KEYS = ["trade_date", "trader_id"]
DEFAULT_CHUNK_SESSIONS = 20
_CHUNK_VIEW = "panel_chunk_fills"
# The fills columns the aggregates and the intraday behaviour read (plus multiplier if stored).
_CHUNK_COLUMNS = ["trade_date", "ts", "trader_id", "symbol", "side", "qty", "price", "notional",
                  "fees", "liquidity", "route", "order_id", "fill_id", "realized_pnl"]
_INTRADAY_COLUMNS = ["trade_date", "ts", "trader_id", "symbol", "side", "qty", "price", "fees",
                     "order_id", "fill_id"]
_TOTALS_COLUMNS = ["trade_date", "trader_id", "gross_pnl", "fees", "net_pnl", "unrealized_delta",
                   "total_delta"]


def build_trader_day_panel(
    lake: Lake,
    dates: list[dt.date],
    *,
    calendar: str,
    chunk_sessions: int = DEFAULT_CHUNK_SESSIONS,
    max_gap_sessions: int = ROSTER_MAX_GAP_SESSIONS,
) -> pd.DataFrame:
    """The trader_day_panel (columns ``PANEL_COLUMNS``) for the sessions among ``dates``.

    Reads ``raw_fills`` for those dates plus ``max_gap_sessions`` earlier sessions (only trader
    and date, for the roster), and ``raw_totals`` for those dates. Fills are processed
    ``chunk_sessions`` dates at a time. P&L comes from totals when a totals row exists, else from
    the fills (their ``realized_pnl``, or the round-trip reconstruction when none is reported)
    with unrealized_delta/total_pnl NaN. A roster day without fills has traded=False and NaN
    activity and P&L, except unrealized_delta/total_pnl when totals report them.
    """
    wanted = sorted(set(dates))
    if not wanted:
        return _empty_panel()
    history = sessions(calendar, wanted[0] - dt.timedelta(days=3 * max_gap_sessions + 10),
                       wanted[-1])
    start = lookback_start(history, wanted[0], max_gap_sessions)
    window = history[history >= pd.Timestamp(start)]
    con = duckdb.connect()
    try:
        activity = _activity(con, lake, start, wanted[-1])
        on_roster = roster(activity, window, max_gap_sessions=max_gap_sessions)
        on_roster = on_roster[on_roster["trade_date"].isin(set(wanted))]
        parts = [
            _chunk_panel(con, lake, chunk, on_roster, calendar)
            for chunk in _chunks([d for d in wanted if pd.Timestamp(d) in window], chunk_sessions)
        ]
    finally:
        con.close()
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else _empty_panel()


def _chunks(days: list[dt.date], size: int) -> list[list[dt.date]]:
    return [days[i:i + size] for i in range(0, len(days), max(size, 1))]


def _files(lake: Lake, asset: str, days: list[dt.date]) -> list[str]:
    present = set(lake.keys(asset, "date"))
    return [str(lake.partition_path(asset, "date", d.isoformat()))
            for d in days if d.isoformat() in present]


def _activity(con, lake: Lake, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Distinct (trade_date, trader_id) with fills from ``start`` to ``end``: nothing later."""
    keys = [k for k in lake.keys("raw_fills", "date") if start.isoformat() <= k <= end.isoformat()]
    if not keys:
        return pd.DataFrame(columns=KEYS)
    files = [str(lake.partition_path("raw_fills", "date", k)) for k in keys]
    rel = con.read_parquet(files, union_by_name=True).project("trade_date, trader_id").distinct()
    return rel.to_arrow_table().to_pandas()


def _chunk_panel(con, lake: Lake, days: list[dt.date], on_roster: pd.DataFrame,
                 calendar: str) -> pd.DataFrame:
    """The panel rows of ``days``. The chunk's fills are decoded once into Arrow; the DuckDB
    aggregates run on a second thread (DuckDB releases the GIL) while this one computes the
    intraday behaviour, so the two halves of the work overlap on two cores."""
    panel = on_roster[on_roster["trade_date"].isin(set(days))].reset_index(drop=True)
    fill_files = _files(lake, "raw_fills", days)
    if fill_files:
        rel = con.read_parquet(fill_files, union_by_name=True)
        # Lakes stored before futures support have no multiplier column: 1.0 (shares, tokens).
        extra = ["multiplier"] if "multiplier" in rel.columns else []
        fills = rel.project(", ".join(_CHUNK_COLUMNS + extra)).to_arrow_table()
        with ThreadPoolExecutor(1) as pool:
            agg = pool.submit(_aggregates, fills, calendar)
            intra = intraday_behaviour(fills.select(_INTRADAY_COLUMNS + extra), calendar=calendar)
            agg = agg.result()
        panel = panel.merge(agg, on=KEYS, how="left").merge(intra, on=KEYS, how="left")
    panel = panel.merge(_totals(con, lake, days), on=KEYS, how="left", indicator="_totals")
    return _finish(panel)


def _aggregates(fills, calendar: str) -> pd.DataFrame:
    """``fills_daily_aggregates`` of an Arrow table, on a connection of this thread's own."""
    con = duckdb.connect()
    try:
        con.register(_CHUNK_VIEW, fills)
        return fills_daily_aggregates(con, _CHUNK_VIEW, calendar=calendar)
    finally:
        con.close()


def _totals(con, lake: Lake, days: list[dt.date]) -> pd.DataFrame:
    """The daily totals of ``days``, P&L columns prefixed ``t_``."""
    files = _files(lake, "raw_totals", days)
    if files:
        rel = con.read_parquet(files, union_by_name=True).project(", ".join(_TOTALS_COLUMNS))
        totals = rel.to_arrow_table().to_pandas()
    else:
        totals = pd.DataFrame({c: pd.Series(dtype=object if c in KEYS else "float64")
                               for c in _TOTALS_COLUMNS})
    return totals.rename(columns={c: f"t_{c}" for c in _TOTALS_COLUMNS if c not in KEYS})


def _finish(panel: pd.DataFrame) -> pd.DataFrame:
    """Roster rows joined to aggregates, intraday and totals -> the panel's P&L and columns.
    A chunk without any fills has no aggregate columns yet: they are added as NaN."""
    has_totals = (panel.pop("_totals") == "both").to_numpy()
    helpers = ["fills_gross_pnl", "fills_fees", "rt_realized_pnl"]
    panel = panel.reindex(columns=list(dict.fromkeys([*panel.columns, *PANEL_COLUMN_NAMES,
                                                      *helpers])))
    traded = panel["n_fills"].fillna(0).to_numpy() > 0
    from_fills = panel["fills_gross_pnl"].notna().to_numpy()
    fills_gross = panel["fills_gross_pnl"].fillna(panel["rt_realized_pnl"]).to_numpy()
    use_totals = traded & has_totals
    panel["traded"] = traded
    panel["pnl_source"] = np.select(
        [use_totals | (has_totals & ~traded), traded & from_fills, traded],
        ["totals", "fills", "round_trips"], default=None)
    panel["gross_pnl"] = np.where(use_totals, panel["t_gross_pnl"],
                                  np.where(traded, fills_gross, np.nan))
    panel["fees"] = np.where(use_totals, panel["t_fees"],
                             np.where(traded, panel["fills_fees"], np.nan))
    panel["net_pnl"] = np.where(use_totals, panel["t_net_pnl"],
                                np.where(traded, panel["gross_pnl"] - panel["fees"], np.nan))
    panel["unrealized_delta"] = np.where(has_totals, panel["t_unrealized_delta"], np.nan)
    panel["total_pnl"] = np.where(has_totals, panel["t_total_delta"], np.nan)
    panel[NUMERIC_COLUMNS] = panel[NUMERIC_COLUMNS].astype("float64")
    return panel[PANEL_COLUMN_NAMES]


def _empty_panel() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype="float64") for name in PANEL_COLUMN_NAMES})
    for name in ("trade_date", "trader_id", "pnl_source"):
        frame[name] = frame[name].astype(object)
    frame["traded"] = frame["traded"].astype(bool)
    return frame
