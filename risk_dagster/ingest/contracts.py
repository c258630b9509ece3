"""Futures contract specifications and symbol parsing (``MESH5`` -> the ``MES`` spec).

The shipped table (``contracts.yaml``, CME Group contracts) gives, per root, the point value (USD
per 1.0 of price per contract), the tick size, the currency and the exchange-calendars code that
dates a fill's session. A user YAML of the same layout adds roots or overrides shipped ones. A
symbol whose root is in no table is refused: a point value is never guessed.

Symbols accepted (case-insensitive, a leading ``/`` dropped): ``MESH5``, ``MESM25``,
``ESZ2024`` (root + month code + 1-, 2- or 4-digit year), NinjaTrader's ``MES 03-25`` (root,
month-year) and a bare root (``ES``: the root itself, as in an IBKR underlying symbol).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from risk_dagster.ingest.errors import IngestError, read_yaml

CONTRACTS_FILE = Path(__file__).parent / "contracts.yaml"
MONTH_CODES = "FGHJKMNQUVXZ"
_SPEC_KEYS = {"name", "exchange", "point_value", "tick_size", "currency", "calendar"}
_CODED = re.compile(rf"(?P<root>[A-Z0-9]+?)(?P<month>[{MONTH_CODES}])(?P<year>\d{{4}}|\d{{1,2}})")
_NINJA = re.compile(r"(?P<root>[A-Z0-9]+) (?P<month>\d{2})-(?P<year>\d{2})")
_ROOT = re.compile(r"[A-Z0-9]{1,4}")  # CME roots are 1-4 characters (6E, M2K, SR3)


class UnknownContract(ValueError):
    """A futures symbol that cannot be read or whose root is in no contract table."""


@dataclass(frozen=True)
class ContractSpec:
    """One futures product. point_value: USD per 1.0 of price per contract; tick_size: price
    units; calendar: exchange-calendars code of its sessions."""

    root: str
    name: str
    exchange: str
    point_value: float
    tick_size: float
    currency: str
    calendar: str

    @property
    def tick_value(self) -> float:
        """USD per tick per contract."""
        return self.tick_size * self.point_value


@dataclass(frozen=True)
class ParsedSymbol:
    root: str
    month: int | None  # 1..12, None for a bare root
    year: int | None   # four digits where the symbol gives two or four; one digit stays as is


def parse_symbol(symbol: str) -> ParsedSymbol:
    """Split a futures symbol into root, month and year (no table lookup).

    Raises UnknownContract when the text has no recognisable futures shape.
    """
    text = " ".join(str(symbol).strip().lstrip("/").upper().split())
    m = _NINJA.fullmatch(text)
    if m:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise UnknownContract(f"{symbol!r}: month {m['month']} is not 01..12")
        return ParsedSymbol(m["root"], month, 2000 + int(m["year"]))
    m = _CODED.fullmatch(text)
    if m:
        year = int(m["year"])
        year = 2000 + year if len(m["year"]) == 2 else year
        return ParsedSymbol(m["root"], MONTH_CODES.index(m["month"]) + 1, year)
    if _ROOT.fullmatch(text):
        return ParsedSymbol(text, None, None)
    raise UnknownContract(f"{symbol!r} is not a futures symbol (expected e.g. MESH5, MESM25, "
                          "ESZ2024, /ESH5 or 'MES 03-25')")


class ContractTable:
    """Contract specs by root; ``resolve`` maps a symbol to its spec."""

    def __init__(self, specs: dict[str, ContractSpec], sources: tuple[str, ...] = ()):
        self.specs = dict(specs)
        self.sources = sources

    def __contains__(self, root: str) -> bool:
        return root in self.specs

    def resolve(self, symbol: str) -> ContractSpec:
        """The spec of ``symbol``'s root. A coded symbol whose parsed root is unknown but which
        is itself a known root (a root ending in a month letter and digit) resolves to it."""
        text = " ".join(str(symbol).strip().lstrip("/").upper().split())
        parsed = parse_symbol(symbol)
        if parsed.root in self.specs:
            return self.specs[parsed.root]
        if text in self.specs:
            return self.specs[text]
        raise UnknownContract(
            f"unknown futures root {parsed.root!r} (symbol {symbol!r}); known roots: "
            f"{', '.join(sorted(self.specs))}. Add it to a contracts YAML (point_value, "
            "tick_size, currency, calendar): a point value is never guessed")

    def with_overrides(self, other: ContractTable) -> ContractTable:
        return ContractTable({**self.specs, **other.specs}, self.sources + other.sources)


def _spec(path: Path, root: str, entry: object, line) -> ContractSpec:
    """One entry of a contracts YAML; ``line(key)`` is the line of ``contracts.<root>.<key>``
    (or of the root when the key is not written)."""
    where = f"contracts.{root}"
    if not isinstance(entry, dict):
        raise IngestError(path, line(None), where, "a contract must be a mapping of "
                          + ", ".join(sorted(_SPEC_KEYS)))
    unknown = set(entry) - _SPEC_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise IngestError(path, line(key), f"{where}.{key}", "unknown key (typo?)")
    for key in ("point_value", "tick_size", "calendar"):
        if entry.get(key) in (None, ""):
            raise IngestError(path, line(key), f"{where}.{key}", "required key is missing")
    values = {}
    for key in ("point_value", "tick_size"):
        try:
            values[key] = float(entry[key])
        except (TypeError, ValueError):
            values[key] = math.nan
        if not (math.isfinite(values[key]) and values[key] > 0):
            raise IngestError(path, line(key), f"{where}.{key}",
                              f"must be a number > 0 (got {entry[key]!r})")
    currency = str(entry.get("currency") or "USD").upper()
    if currency != "USD":
        raise IngestError(path, line("currency"), f"{where}.currency", "only USD point values "
                          f"are supported (got {currency!r}): amounts would be stored in the "
                          "wrong currency")
    calendar = str(entry["calendar"])
    _check_calendar(path, line("calendar"), f"{where}.calendar", calendar)
    return ContractSpec(root=root, name=str(entry.get("name") or root),
                        exchange=str(entry.get("exchange") or ""), currency=currency,
                        calendar=calendar, **values)


def _check_calendar(path: Path, line: int | None, where: str, code: str) -> None:
    import exchange_calendars as xcals

    if code not in xcals.get_calendar_names(include_aliases=True):
        raise IngestError(path, line, where, f"unknown exchange-calendars code {code!r}")


def read_contracts(path: str | Path) -> ContractTable:
    """A ContractTable from a YAML file ``{contracts: {ROOT: {point_value, tick_size, currency,
    calendar, name, exchange}}}``. Raises IngestError naming the file, the line and the key on a
    bad entry (and the line of a YAML syntax error)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, None, None, f"no such contracts file: {path.absolute()}")
    spec, lines = read_yaml(path)
    if not isinstance(spec, dict) or not isinstance(spec.get("contracts"), dict):
        raise IngestError(path, lines.get("contracts"), "contracts",
                          "expected a top-level 'contracts' mapping")
    specs = {}
    for root, entry in spec["contracts"].items():
        key = str(root).upper()

        def line(name, root=root):
            at = f"contracts.{root}"
            return (lines.get(f"{at}.{name}") if name else None) or lines.get(at)

        if not _ROOT.fullmatch(key):
            raise IngestError(path, line(None), f"contracts.{root}",
                              "a root is 1-4 letters or digits")
        specs[key] = _spec(path, key, entry, line)
    return ContractTable(specs, (str(path),))


_SHIPPED: ContractTable | None = None


def load_contracts(*extra: str | Path | None) -> ContractTable:
    """The shipped table, overridden in order by each ``extra`` YAML file (None skipped): the
    later file wins for a root in both. Ingestion passes the firm's file (``--contracts``,
    ``RISK_CONTRACTS``), then the mapping's own (``contracts:`` in the mapping YAML)."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = read_contracts(CONTRACTS_FILE)
    table = _SHIPPED
    for path in extra:
        if path is not None:
            table = table.with_overrides(read_contracts(path))
    return table
