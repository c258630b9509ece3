"""Any broker's fills CSV, read through a column-mapping YAML (see ``presets/hyperliquid.yaml``).

A mapping names the columns that hold the account, time (format and timezone), symbol, side (with
a value map to B / S / T), quantity, price, fee columns, order id, fill id (or none), liquidity
(with a value map to add / remove), realized P&L, route, and the extra columns that go into the
content hash when there is no usable fill id. ``event_type`` lists the row kinds a venue is known
to emit; a row of another kind is kept as an ordinary fill and counted in the warnings, never
dropped silently. ``ignore_columns`` are known columns that are deliberately unused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from risk_dagster.core.settings import CALENDAR_24_7
from risk_dagster.ingest import convert
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.fills_frame import build_fills
from risk_dagster.ingest.reader import RawTable, normalize_header, read_raw

PRESETS_DIR = Path(__file__).parent / "presets"
_KEYS = {"name", "description", "account", "time", "symbol", "side", "quantity", "price", "fees",
         "order_id", "fill_id", "liquidity", "realized_pnl", "route", "hash_columns", "event_type",
         "ignore_columns"}


@dataclass(frozen=True)
class ColumnMapping:
    """Where each canonical field lives in a broker's CSV (header names, matched by name)."""

    name: str
    account: str
    time_columns: tuple[str, ...]
    time_formats: tuple[str, ...]
    timezone: str | None
    symbol: str
    side_column: str
    side_values: dict[str, str]
    quantity: str
    price: str
    order_id: str
    fees: tuple[str, ...] = ()
    fill_id: str | None = None
    liquidity_column: str | None = None
    liquidity_values: dict[str, str | None] = field(default_factory=dict)
    realized_pnl: str | None = None
    route: str | None = None
    hash_columns: tuple[str, ...] = ()
    event_column: str | None = None
    event_known: tuple[str, ...] = ()
    ignore_columns: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        """Every source column the mapping knows (used or deliberately ignored)."""
        named = [self.account, *self.time_columns, self.symbol, self.side_column, self.quantity,
                 self.price, self.order_id, *self.fees, self.fill_id, self.liquidity_column,
                 self.realized_pnl, self.route, *self.hash_columns, self.event_column,
                 *self.ignore_columns]
        return [c for c in named if c]


def load_mapping(name_or_path: str | Path) -> ColumnMapping:
    """A ColumnMapping from a preset name (``"hyperliquid"``) or a YAML file path.

    Raises IngestError naming the YAML file and the key when a required key is missing or wrong
    (e.g. a time without a timezone).
    """
    text = str(name_or_path)
    path = Path(text)
    if not (path.suffix in {".yaml", ".yml"} or path.exists()):
        if not re.fullmatch(r"[a-z0-9_\-]+", text):
            raise IngestError(text, None, None, "not a preset name nor a YAML file")
        path = PRESETS_DIR / f"{text}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
        raise IngestError(path, None, None, f"no such mapping (presets: {', '.join(known)})")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(spec, dict):
        raise IngestError(path, None, None, "a mapping must be a YAML dictionary")
    return _mapping_from_spec(path, spec)


def _mapping_from_spec(path: Path, spec: dict) -> ColumnMapping:
    def need(key: str, value: object = None) -> object:
        value = spec.get(key) if value is None else value
        if value in (None, "", [], {}):
            raise IngestError(path, None, key, "required key is missing")
        return value

    unknown = set(spec) - _KEYS
    if unknown:
        raise IngestError(path, None, sorted(unknown)[0], "unknown key (typo?)")
    time, side = need("time"), need("side")
    liq, event = spec.get("liquidity") or {}, spec.get("event_type") or {}
    formats = _as_tuple(need("time.format", time.get("format")))
    if not any("%z" in f for f in formats):
        need("time.timezone", time.get("timezone"))
    side_spec = need("side.values", side.get("values"))
    side_values = {str(k): str(v).upper() for k, v in side_spec.items()}
    if not set(side_values.values()) <= {"B", "S", "T"}:
        raise IngestError(path, None, "side.values", "sides must map to B, S or T (short sale)")
    liq_values = {str(k): v for k, v in (liq.get("values") or {}).items()}
    if not set(liq_values.values()) <= {"add", "remove", None}:
        raise IngestError(path, None, "liquidity.values", "must map to add, remove or null")
    return ColumnMapping(
        name=str(spec.get("name") or path.stem), account=need("account"),
        time_columns=_as_tuple(need("time.column", time.get("column"))), time_formats=formats,
        timezone=time.get("timezone"), symbol=need("symbol"),
        side_column=need("side.column", side.get("column")), side_values=side_values,
        quantity=need("quantity"), price=need("price"), order_id=need("order_id"),
        fees=_as_tuple(spec.get("fees")), fill_id=spec.get("fill_id"),
        liquidity_column=liq.get("column"), liquidity_values=liq_values,
        realized_pnl=spec.get("realized_pnl"), route=spec.get("route"),
        hash_columns=_as_tuple(spec.get("hash_columns")), event_column=event.get("column"),
        event_known=_as_tuple(event.get("known")),
        ignore_columns=_as_tuple(spec.get("ignore_columns")),
    )


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def parse_mapped_fills(path: str | Path, mapping: ColumnMapping | str | Path, *,
                       calendar: str = CALENDAR_24_7,
                       expected_dates: Iterable[dt.date] | None = None) -> pd.DataFrame:
    """Read a broker's fills CSV through ``mapping`` into the canonical FILLS frame.

    Times are converted to UTC; with a 24/7 calendar ``trade_date`` is the UTC date. Quantities in
    the venue's units (shares or tokens), prices and money in USD; ``source`` is the mapping name.
    Warnings are in ``frame.attrs["ingest_warnings"]``; bad input raises IngestError.
    """
    m = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
    raw = read_raw(path)
    col = {c: raw.require(c) for c in m.columns() if c not in m.ignore_columns}
    raw.ignore_unknown({normalize_header(c) for c in (*col, *m.ignore_columns)})
    side_code, _ = convert.codes(raw, col[m.side_column], m.side_values)
    cols = {
        "ts": convert.utc_times(raw, [col[c] for c in m.time_columns], list(m.time_formats),
                                m.timezone),
        "trader_id": convert.trader_ids(raw, col[m.account]),
        "symbol": convert.text(raw, col[m.symbol]),
        "side": pc.if_else(pc.equal(side_code, "T"), "S", side_code),
        "short_sale": pc.equal(side_code, "T"),
        "qty": convert.positive(raw, col[m.quantity], "quantity"),
        "price": convert.positive(raw, col[m.price], "price"),
        "fees": convert.fee_sum(raw, [col[c] for c in m.fees]),
        "liquidity": _liquidity(raw, m, col),
        "route": (convert.text(raw, col[m.route], required=False) if m.route
                  else pa.nulls(raw.n_rows, pa.string())),
        "order_id": convert.text(raw, col[m.order_id]),
        "realized_pnl": (convert.numbers(raw, col[m.realized_pnl], required=False)
                         if m.realized_pnl else np.full(raw.n_rows, np.nan)),
    }
    _warn_event_types(raw, m, col)
    fill_id = convert.text(raw, col[m.fill_id], required=False) if m.fill_id else None
    return build_fills(raw, cols, source=m.name, calendar=calendar, fill_id=fill_id,
                       hash_extra=[raw.column(col[c]) for c in m.hash_columns],
                       id_column=col.get(m.fill_id) if m.fill_id else None,
                       time_column=" + ".join(col[c] for c in m.time_columns),
                       expected_dates=expected_dates)


def _liquidity(raw: RawTable, m: ColumnMapping, col: dict[str, str]) -> pa.Array:
    if not m.liquidity_column:
        return pa.nulls(raw.n_rows, pa.string())
    values, unmapped = convert.codes(raw, col[m.liquidity_column], m.liquidity_values,
                                     unknown="null")
    if unmapped:
        raw.warnings.append(f"{raw.path.name}: {unmapped} liquidity value(s) in "
                            f"{m.liquidity_column!r} not in the mapping; liquidity left empty")
    return values


def _warn_event_types(raw: RawTable, m: ColumnMapping, col: dict[str, str]) -> None:
    if not m.event_column:
        return
    kinds = raw.column(col[m.event_column]).to_pandas()
    odd = kinds[~kinds.isin(list(m.event_known))]
    for kind, n in odd.value_counts().sort_index().items():
        first = raw.lines()[int(np.flatnonzero((kinds == kind).to_numpy())[0])]
        raw.warnings.append(f"{raw.path.name}: kept {n} fill(s) with {m.event_column} {kind!r} "
                            f"(first on line {first}) as ordinary fills")
