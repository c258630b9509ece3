"""Any broker's fills CSV, read through a column-mapping YAML (see ``presets/hyperliquid.yaml``).

A mapping names the columns that hold the account, time (format and timezone), symbol, side (with
a value map to B / S / T), quantity, price, fee columns, order id, fill id (or none), liquidity
(with a value map to add / remove), realized P&L, route, and the extra columns that go into the
content hash when there is no usable fill id. ``event_type`` lists the row kinds a venue is known
to emit; a row of another kind is kept as an ordinary fill and counted in the warnings, never
dropped silently. ``ignore_columns`` are known columns that are deliberately unused.
``decimal: ","`` declares a decimal comma (``81,33``; dots or spaces then group thousands);
without it a comma is a thousands separator only in groups of 3 digits, else an error.

A mapping is a preset name (``presets/<name>.yaml``) or a YAML file path, absolute or relative
to the current directory. Its ``name`` (or the file's stem) names the source: the inbox, landing
and rejected folders and the ``source`` column take it, never the path, so it must be a plain
name (letters, digits, ``_``, ``-``). YAML syntax, timezone and key errors name the YAML file and
its line.

Futures and mixed accounts (see ``presets/tradovate.yaml``, ``presets/ibkr_flex.yaml``):
``asset_class`` is one class for the whole file (``future``) or ``{column, values}`` mapping the
file's words (``FUT: future``); a future's symbol resolves through the contract table
(``contracts``: an extra contracts YAML, relative to the mapping file) to its point value and its
exchange calendar, which dates the fill's session. ``multiplier`` names a column that gives the
point value itself (IBKR's ``Multiplier``); it wins over the table's. ``quantity_sign: signed``
reads quantities whose sign is the side (sells negative); ``fee_sign: negative`` reads fees
written as negative costs. ``calendar`` dates the non-future rows of this mapping (default: the
partitions' calendar).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.schemas import ASSET_CLASSES
from risk_dagster.core.settings import CALENDAR_24_7
from risk_dagster.ingest import convert
from risk_dagster.ingest.contracts import ContractTable, UnknownContract, load_contracts
from risk_dagster.ingest.errors import IngestError, read_yaml
from risk_dagster.ingest.fills_frame import build_fills
from risk_dagster.ingest.reader import RawTable, normalize_header, read_raw
from risk_dagster.ingest.row_warnings import EVENT_KIND, LIQUIDITY, RowWarning

PRESETS_DIR = Path(__file__).parent / "presets"
_KEYS = {"name", "description", "account", "time", "symbol", "side", "quantity", "price", "fees",
         "order_id", "fill_id", "liquidity", "realized_pnl", "route", "hash_columns", "event_type",
         "ignore_columns", "decimal", "asset_class", "multiplier", "contracts", "calendar",
         "quantity_sign", "fee_sign"}
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")
_SIGNS = {"quantity_sign": ("positive", "signed"), "fee_sign": ("positive", "negative")}


@dataclass(frozen=True)
class ColumnMapping:
    """Where each canonical field lives in a broker's CSV (header names, matched by name)."""

    name: str
    account: str | None
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
    decimal: str = "."
    path: Path | None = None  # the YAML file it came from
    asset_class: str | None = None  # one class for every row
    asset_class_column: str | None = None
    asset_class_values: dict[str, str] = field(default_factory=dict)
    multiplier_column: str | None = None
    contracts_file: Path | None = None
    calendar: str | None = None
    quantity_signed: bool = False
    fees_negative: bool = False

    def columns(self) -> list[str]:
        """Every source column the mapping knows (used or deliberately ignored)."""
        named = [self.account, *self.time_columns, self.symbol, self.side_column, self.quantity,
                 self.price, self.order_id, *self.fees, self.fill_id, self.liquidity_column,
                 self.realized_pnl, self.route, *self.hash_columns, self.event_column,
                 self.asset_class_column, self.multiplier_column, *self.ignore_columns]
        return [c for c in named if c]


def is_mapping_path(name_or_path: str | Path) -> bool:
    """True when ``name_or_path`` names a YAML file rather than a preset."""
    text = str(name_or_path)
    return text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text


def load_mapping(name_or_path: str | Path) -> ColumnMapping:
    """A ColumnMapping from a preset name (``"hyperliquid"``) or a YAML file path (absolute, or
    relative to the current directory).

    Raises IngestError naming the YAML file, the line and the key when the YAML is broken or a
    key is missing or wrong (e.g. a time without a timezone, an unknown timezone).
    """
    text = str(name_or_path)
    if is_mapping_path(text) or Path(text).is_file():
        path = Path(text).expanduser()
        if not path.is_file():
            raise IngestError(path, None, None, "no such mapping file: "
                              f"{path if path.is_absolute() else Path.cwd() / path}")
    else:
        if not SOURCE_NAME.fullmatch(text):
            raise IngestError(text, None, None, "not a preset name nor a YAML file")
        path = PRESETS_DIR / f"{text}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
            raise IngestError(f"{text}.yaml", None, None,
                              f"no such preset {text!r} (presets: {', '.join(known)}; or give "
                              "the path of your own mapping YAML)")
    spec, lines = read_yaml(path)
    if not isinstance(spec, dict):
        raise IngestError(path, None, None, "a mapping must be a YAML dictionary")
    return _mapping_from_spec(path, spec, lines)


def _mapping_from_spec(path: Path, spec: dict, lines: dict[str, int] | None = None
                       ) -> ColumnMapping:
    lines = lines or {}

    def fail(key: str, message: str) -> IngestError:
        line = lines.get(key) or lines.get(key.split(".")[0])
        return IngestError(path, line, key, message)

    def need(key: str, value: object = None) -> object:
        value = spec.get(key) if value is None else value
        if value in (None, "", [], {}):
            raise fail(key, "required key is missing")
        return value

    unknown = set(spec) - _KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key (typo?)")
    for key in ("time", "side"):
        if not isinstance(spec.get(key), dict):
            raise fail(key, "must be a dictionary (column:, format:/values: ...)")
    time, side = need("time"), need("side")
    liq, event = spec.get("liquidity") or {}, spec.get("event_type") or {}
    formats = _as_tuple(need("time.format", time.get("format")))
    tz = time.get("timezone")
    if not any("%z" in f for f in formats):
        need("time.timezone", tz)
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(str(tz))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise fail("time.timezone", f"unknown timezone {tz!r} (an IANA name such as "
                       "America/New_York or Asia/Kolkata)") from None
    side_spec = need("side.values", side.get("values"))
    side_values = {str(k): str(v).upper() for k, v in side_spec.items()}
    if not set(side_values.values()) <= {"B", "S", "T"}:
        raise fail("side.values", "sides must map to B, S or T (short sale)")
    liq_values = {str(k): v for k, v in (liq.get("values") or {}).items()}
    if not set(liq_values.values()) <= {"add", "remove", None}:
        raise fail("liquidity.values", "must map to add, remove or null")
    decimal = str(spec.get("decimal", "."))
    if decimal not in {".", ","}:
        raise fail("decimal", f"must be '.' or ',' (got {decimal!r})")
    name = str(spec.get("name") or path.stem)
    if not SOURCE_NAME.fullmatch(name):
        raise fail("name", f"{name!r} is not a plain name (letters, digits, _ and -): it names "
                   "the inbox, landing and rejected folders")
    futures = _futures_spec(path, spec, lines)
    return ColumnMapping(**futures,
        name=name, account=spec.get("account") or None,
        time_columns=_as_tuple(need("time.column", time.get("column"))), time_formats=formats,
        timezone=tz, symbol=need("symbol"),
        side_column=need("side.column", side.get("column")), side_values=side_values,
        quantity=need("quantity"), price=need("price"), order_id=need("order_id"),
        fees=_as_tuple(spec.get("fees")), fill_id=spec.get("fill_id"),
        liquidity_column=liq.get("column"), liquidity_values=liq_values,
        realized_pnl=spec.get("realized_pnl"), route=spec.get("route"),
        hash_columns=_as_tuple(spec.get("hash_columns")), event_column=event.get("column"),
        event_known=_as_tuple(event.get("known")),
        ignore_columns=_as_tuple(spec.get("ignore_columns")), decimal=decimal, path=path,
    )


def _futures_spec(path: Path, spec: dict, lines: dict[str, int]) -> dict:
    """The asset-class, multiplier, contracts, calendar and sign keys of a mapping spec
    (``lines``: each key's line, for the errors)."""
    out: dict = {}
    asset = spec.get("asset_class")
    if isinstance(asset, dict):
        values = {str(k): str(v) for k, v in (asset.get("values") or {}).items()}
        if not asset.get("column") or not values:
            raise IngestError(path, _line(lines, "asset_class"), "asset_class",
                              "needs a column and its values")
        bad = set(values.values()) - set(ASSET_CLASSES)
        if bad:
            raise IngestError(path, _line(lines, "asset_class.values"), "asset_class.values",
                              "unknown asset class "
                              f"{sorted(bad)[0]!r} (expected {', '.join(ASSET_CLASSES)})")
        out.update(asset_class_column=str(asset["column"]), asset_class_values=values)
    elif asset is not None:
        if str(asset) not in ASSET_CLASSES:
            raise IngestError(path, _line(lines, "asset_class"), "asset_class",
                              f"unknown asset class {asset!r} "
                              f"(expected {', '.join(ASSET_CLASSES)})")
        out["asset_class"] = str(asset)
    for key, (plain, other) in _SIGNS.items():
        value = str(spec.get(key) or plain)
        if value not in (plain, other):
            raise IngestError(path, _line(lines, key), key,
                              f"must be {plain} or {other} (got {value!r})")
    out["quantity_signed"] = spec.get("quantity_sign") == "signed"
    out["fees_negative"] = spec.get("fee_sign") == "negative"
    if spec.get("multiplier"):
        out["multiplier_column"] = str(spec["multiplier"])
    if spec.get("contracts"):
        extra = Path(str(spec["contracts"]))
        out["contracts_file"] = extra if extra.is_absolute() else path.parent / extra
    if spec.get("calendar"):
        code = str(spec["calendar"])
        if code != CALENDAR_24_7:
            import exchange_calendars as xcals

            if code not in xcals.get_calendar_names(include_aliases=True):
                raise IngestError(path, _line(lines, "calendar"), "calendar",
                                  f"unknown calendar {code!r}")
        out["calendar"] = code
    return out


def _line(lines: dict[str, int], key: str) -> int | None:
    """The line of ``key`` (dotted), else of its nearest written parent."""
    while key:
        if key in lines:
            return lines[key]
        key = key.rpartition(".")[0]
    return None


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def parse_mapped_fills(path: str | Path, mapping: ColumnMapping | str | Path, *,
                       calendar: str = CALENDAR_24_7, account: str | None = None,
                       expected_dates: Iterable[dt.date] | None = None,
                       skip_lines: Iterable[int] = (),
                       contracts: ContractTable | str | Path | None = None) -> pd.DataFrame:
    """Read a broker's fills CSV through ``mapping`` into the canonical FILLS frame.

    Times are converted to UTC; with a 24/7 calendar ``trade_date`` is the UTC date. Quantities in
    the venue's units (shares, tokens or contracts), prices and money in USD; ``source`` is the
    mapping name. Futures rows get their contract's point value (``multiplier``) and are dated by
    their exchange's session (``contracts``: the firm's contracts YAML, over the shipped
    table, and under the mapping's own ``contracts`` file, which wins for a root in both; or a
    ContractTable, used as it is); an unknown root is an error naming the line.
    ``account`` is the trader of an export that carries none (no account column in the mapping,
    or empty account cells). Warnings are in ``frame.attrs["ingest_warnings"]``; bad input raises
    IngestError.
    """
    m = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
    raw = read_raw(path, decimal=m.decimal, skip_lines=skip_lines)
    return build_fills(raw, **mapped_columns(raw, m, calendar=calendar, account=account,
                                             expected_dates=expected_dates,
                                             contracts=contracts))


def mapped_columns(raw: RawTable, m: ColumnMapping, *, calendar: str, account: str | None,
                   expected_dates: Iterable[dt.date] | None,
                   contracts: ContractTable | str | Path | None) -> dict:
    """The keyword arguments of ``fills_frame.build_fills`` / ``fills_table`` for the records of
    ``raw`` (a whole export or a block of one) read through ``m``."""
    col = {c: raw.require(c) for c in m.columns() if c not in m.ignore_columns}
    raw.ignore_unknown({normalize_header(c) for c in (*col, *m.ignore_columns)})
    side_code, _ = convert.codes(raw, col[m.side_column], m.side_values)
    qty = (_signed_quantity(raw, col[m.quantity], side_code) if m.quantity_signed
           else convert.positive(raw, col[m.quantity], "quantity"))
    fees = convert.fee_sum(raw, [col[c] for c in m.fees])
    cols = {
        "ts": convert.utc_times(raw, [col[c] for c in m.time_columns], list(m.time_formats),
                                m.timezone),
        "trader_id": convert.accounts(raw, col.get(m.account) if m.account else None, account),
        "symbol": convert.text(raw, col[m.symbol]),
        "side": pc.if_else(pc.equal(side_code, "T"), "S", side_code),
        "short_sale": pc.equal(side_code, "T"),
        "qty": qty,
        "price": convert.positive(raw, col[m.price], "price"),
        "fees": -fees if m.fees_negative else fees,
        "liquidity": _liquidity(raw, m, col),
        "route": (convert.text(raw, col[m.route], required=False) if m.route
                  else pa.nulls(raw.n_rows, pa.string())),
        "order_id": convert.text(raw, col[m.order_id]),
        "realized_pnl": (convert.numbers(raw, col[m.realized_pnl], required=False)
                         if m.realized_pnl else np.full(raw.n_rows, np.nan)),
    }
    cols.update(_instruments(raw, m, col, cols["symbol"], contracts))
    _warn_event_types(raw, m, col)
    fill_id = convert.text(raw, col[m.fill_id], required=False) if m.fill_id else None
    return {"cols": cols, "source": m.name, "calendar": calendar, "fill_id": fill_id,
            "hash_extra": [raw.column(col[c]) for c in m.hash_columns],
            "id_column": col.get(m.fill_id) if m.fill_id else None,
            "time_column": " + ".join(col[c] for c in m.time_columns),
            "expected_dates": expected_dates}


def _signed_quantity(raw: RawTable, column: str, side: pa.Array) -> np.ndarray:
    """|quantity| of a column whose sign is the side: a buy > 0, a sell (or short sale) < 0."""
    values = convert.numbers(raw, column)
    buy = pc.equal(side, "B").to_numpy(zero_copy_only=False)
    bad = (values == 0) | ((values > 0) != buy)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise raw.error(i, column, f"signed quantity {values[i]:g} disagrees with the side "
                        f"{side[i].as_py()!r} (buys > 0, sells < 0)")
    return np.abs(values)


def _instruments(raw: RawTable, m: ColumnMapping, col: dict[str, str], symbols: pa.Array,
                 contracts: ContractTable | str | Path | None) -> dict[str, object]:
    """asset_class, multiplier (USD per price unit) and calendar of each row."""
    n = raw.n_rows
    if m.asset_class_column:
        asset, unmapped = convert.codes(raw, col[m.asset_class_column], m.asset_class_values)
    elif m.asset_class:
        asset = pa.array([m.asset_class] * n, pa.string())
    else:
        asset = pa.nulls(n, pa.string())
    multiplier = np.ones(n)
    if m.multiplier_column:
        multiplier = convert.positive(raw, col[m.multiplier_column], "multiplier")
    calendars = np.full(n, m.calendar, dtype=object)
    future = pc.fill_null(pc.equal(asset, "future"), False).to_numpy(zero_copy_only=False)
    if future.any():
        table = contracts if isinstance(contracts, ContractTable) else load_contracts(
            contracts, m.contracts_file)
        sym = pd.Series(symbols.to_pandas())
        for symbol in pd.unique(sym[future]):
            rows = future & (sym == symbol).to_numpy()
            try:
                spec = table.resolve(symbol)
            except UnknownContract as exc:
                raise raw.error(int(np.flatnonzero(rows)[0]), col[m.symbol], str(exc)) from None
            if not m.multiplier_column:
                multiplier[rows] = spec.point_value
            calendars[rows] = spec.calendar
    return {"asset_class": asset, "multiplier": multiplier,
            "calendar": pa.array(calendars, pa.string())}


def _liquidity(raw: RawTable, m: ColumnMapping, col: dict[str, str]) -> pa.Array:
    if not m.liquidity_column:
        return pa.nulls(raw.n_rows, pa.string())
    values, unmapped = convert.codes(raw, col[m.liquidity_column], m.liquidity_values,
                                     unknown="null")
    if unmapped:
        text = raw.column(col[m.liquidity_column])
        odd = pc.and_(pc.is_null(values), pc.not_equal(text, "")).to_numpy(zero_copy_only=False)
        raw.warnings.append(RowWarning(
            "{file}: {n} liquidity value(s) in {column!r} not in the mapping; liquidity left "
            "empty", order=LIQUIDITY, n=unmapped, first=int(raw.lines()[np.flatnonzero(odd)[0]]),
            file=raw.path.name, column=m.liquidity_column))
    return values


def _warn_event_types(raw: RawTable, m: ColumnMapping, col: dict[str, str]) -> None:
    if not m.event_column:
        return
    kinds = raw.column(col[m.event_column]).to_pandas()
    odd = kinds[~kinds.isin(list(m.event_known))]
    for kind, n in odd.value_counts().sort_index().items():
        first = raw.lines()[int(np.flatnonzero((kinds == kind).to_numpy())[0])]
        raw.warnings.append(RowWarning(
            "{file}: kept {n} fill(s) with {column} {kind!r} (first on line {first}) as "
            "ordinary fills", order=EVENT_KIND, key=(kind,), n=int(n), first=int(first),
            sort=kind, file=raw.path.name, column=m.event_column, kind=kind))
