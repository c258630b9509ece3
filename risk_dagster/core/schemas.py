"""Canonical tables that every source (PropReports, a mapped broker CSV, the simulator) produces.

Each column is documented with its type and unit. Money is USD, sizes are shares (or tokens for a
crypto venue), timestamps are UTC. ``trade_date`` is the session date in the calendar's timezone:
the partition a row belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    unit: str
    description: str
    nullable: bool = False
    # Filled in when a producer omits the column (only columns added after the first release
    # have one): None for a nullable column, else a constant. _REQUIRED = no default.
    default: object = "__required__"


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    def empty(self) -> pd.DataFrame:
        return self.arrow.empty_table().to_pandas()

    def to_arrow(self, frame: pd.DataFrame) -> pa.Table:
        """Select and cast ``frame``'s columns to this schema (raises on a missing column)."""
        absent = [c for c in self.columns if c.name not in frame.columns]
        if any(c.default != _REQUIRED for c in absent):
            frame = frame.assign(**{c.name: c.default for c in absent if c.default != _REQUIRED})
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise KeyError(f"{self.name}: missing columns {missing}")
        return pa.Table.from_pandas(frame[self.names], schema=self.arrow, preserve_index=False)

    def select_arrow(self, table: pa.Table) -> pa.Table:
        """``table``'s columns of this schema, cast, with defaults for omitted columns."""
        for c in self.columns:
            if c.name not in table.column_names and c.default != _REQUIRED:
                table = table.append_column(c.name, pa.array([c.default] * table.num_rows, c.type))
        return table.select(self.names).cast(self.arrow)

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with exactly this schema's columns, in order, with canonical dtypes."""
        return self.to_arrow(frame).to_pandas()

    def markdown(self) -> str:
        rows = [f"| {c.name} | {c.type} | {c.unit} | {c.description} |" for c in self.columns]
        return "| column | type | unit | description |\n|---|---|---|---|\n" + "\n".join(rows)


_REQUIRED = "__required__"
_TS = pa.timestamp("us", tz="UTC")
ASSET_CLASSES = ("equity", "future", "crypto", "option", "fx")

FILLS = TableSchema(
    name="fills",
    key=("source", "fill_id"),
    columns=(
        Column("trade_date", pa.date32(), "date", "session date (calendar timezone)"),
        Column("ts", _TS, "UTC", "execution time"),
        Column("trader_id", pa.string(), "id", "account / trader id (validated)"),
        Column("symbol", pa.string(), "ticker", "instrument"),
        Column("side", pa.string(), "B/S", "'B' buy or 'S' sell (a short sale is 'S')"),
        Column("short_sale", pa.bool_(), "flag", "True for a short sale (PropReports B/S = T)"),
        Column("qty", pa.float64(), "shares", "filled quantity, > 0 (contracts for a future)"),
        Column("price", pa.float64(), "USD/share", "execution price, > 0 (index points, USD per "
               "barrel, ... for a future: see multiplier)"),
        Column("notional", pa.float64(), "USD", "qty x price x multiplier"),
        Column("fees", pa.float64(), "USD", "all fees and commissions of the fill (cost > 0)"),
        Column("liquidity", pa.string(), "add/remove", "'add' (maker), 'remove' (taker) or null",
               nullable=True),
        Column("route", pa.string(), "text", "route / venue", nullable=True),
        Column("order_id", pa.string(), "id", "order the fill belongs to"),
        Column("fill_id", pa.string(), "id",
               "fill id from the source, or a content hash where the source has none"),
        Column("realized_pnl", pa.float64(), "USD",
               "realized P&L of the fill before fees, where the source reports it", nullable=True),
        Column("source", pa.string(), "text", "where the row came from (simulator, propreports, "
               "a mapping preset name)"),
        Column("asset_class", pa.string(), "label", "equity, future, crypto, option or fx; null "
               "when the source does not say (read as equity)", nullable=True, default=None),
        Column("multiplier", pa.float64(), "USD/price unit", "USD per 1.0 of price per unit of "
               "qty: a future's point value (MES 5.0), 1.0 for shares and tokens; notional and "
               "P&L are qty x price x multiplier", default=1.0),
        Column("calendar", pa.string(), "code", "exchange-calendars code that dated the fill's "
               "session (CMES for CME Globex futures); null = the partitions' calendar",
               nullable=True, default=None),
    ),
)

TOTALS = TableSchema(
    name="totals",
    key=("trade_date", "trader_id"),
    columns=(
        Column("trade_date", pa.date32(), "date", "session date"),
        Column("trader_id", pa.string(), "id", "account / trader id"),
        Column("orders", pa.int64(), "count", "orders with at least one fill"),
        Column("fills", pa.int64(), "count", "fills"),
        Column("qty", pa.float64(), "shares", "total filled quantity"),
        Column("gross_pnl", pa.float64(), "USD", "realized P&L before fees"),
        Column("fees", pa.float64(), "USD", "fees and commissions (cost > 0)"),
        Column("net_pnl", pa.float64(), "USD", "gross_pnl - fees"),
        Column("unrealized_delta", pa.float64(), "USD", "change in unrealized P&L of carried "
               "positions (0 when unknown)"),
        Column("total_delta", pa.float64(), "USD", "net_pnl + unrealized_delta"),
        Column("derived", pa.bool_(), "flag", "True when computed from fills because the source "
               "has no daily totals"),
        Column("source", pa.string(), "text", "where the row came from"),
        Column("end_balance", pa.float64(), "USD", "account balance at the day's close, where "
               "the source reports it (PropReports End Balance); null when unknown",
               nullable=True, default=None),
    ),
)

# The simulator's hidden truth; never a model input, only for evaluation against the best model.
GROUND_TRUTH = TableSchema(
    name="ground_truth",
    key=("trade_date", "trader_id"),
    columns=(
        Column("trade_date", pa.date32(), "date", "session date"),
        Column("trader_id", pa.string(), "id", "trader"),
        Column("state", pa.string(), "label", "latent behavioural state that day (calm, tilt, "
               "overconfident, fatigued, absent)"),
        Column("tilt", pa.float64(), "0..1", "tilt intensity after recent losses"),
        Column("market_regime", pa.string(), "label", "market regime that day (calm, volatile)"),
        Column("p_large_loss", pa.float64(), "probability",
               "true probability, known at the previous close, that this day is a large-loss day"),
        Column("large_loss_threshold", pa.float64(), "USD",
               "the loss (negative) below which the day counts as a large loss for this trader"),
    ),
)

SCHEMAS = {s.name: s for s in (FILLS, TOTALS, GROUND_TRUTH)}
