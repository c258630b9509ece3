"""One entry point for a landed file: pick the parser from the source name and the header."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from risk_dagster.core.calendar import calendar_timezone
from risk_dagster.core.settings import CALENDAR_24_7
from risk_dagster.ingest.contracts import load_contracts
from risk_dagster.ingest.derive import derive_totals
from risk_dagster.ingest.fills_frame import WARNINGS_ATTR, fills_table, frame_lines
from risk_dagster.ingest.mapping import load_mapping, mapped_columns, parse_mapped_fills
from risk_dagster.ingest.reader import RawTable, check_input_path, normalize_header, peek_header
from risk_dagster.ingest.propreports import (FEE_COLUMNS, SOURCE as PROPREPORTS, fills_columns,
                                             is_fills_header, parse_propreports_fills,
                                             parse_propreports_totals)


@dataclass
class ParsedFile:
    """What one file gave: canonical fills and/or totals, and what to tell the operator.

    kind: "fills" or "totals" (what the file itself holds). derived_totals: True when ``totals``
    were computed from the fills because the source has no daily totals. rows: data rows read.
    """

    kind: Literal["fills", "totals"]
    fills: pd.DataFrame | None
    totals: pd.DataFrame | None
    derived_totals: bool
    source: str
    rows: int
    warnings: list[str] = field(default_factory=list)
    lines: object = None  # np.ndarray: the file line of each row (first line per totals row)


def parse_file(path: str | Path, source: str, *, calendar: str, timezone: str | None = None,
               account: str | None = None,
               expected_dates: Iterable[dt.date] | None = None,
               skip_lines: Iterable[int] = (),
               contracts: str | Path | None = None) -> ParsedFile:
    """Parse ``path`` from ``source``: ``"propreports"`` (fills or totals, told apart by the
    header) or a mapping preset name / YAML path (fills, with totals derived from them).

    ``timezone`` is the timezone of PropReports' local times (default: the calendar's, New York for
    24/7); ``account`` the trader of an export that carries none (a totals file without an Account
column, a mapped export with no or empty account cells); ``expected_dates``
    the partition dates rows must fall on; ``skip_lines`` file lines to leave out; ``contracts``
    the firm's futures contracts YAML (a mapping's own ``contracts:`` file wins over it). Raises
    IngestError on bad input.
    """
    if source == PROPREPORTS:
        if is_fills_header(peek_header(check_input_path(path))):
            tz = timezone or ("America/New_York" if calendar == CALENDAR_24_7
                              else calendar_timezone(calendar))
            fills = parse_propreports_fills(path, calendar=calendar, timezone=tz,
                                            expected_dates=expected_dates,
                                            skip_lines=skip_lines)
            return _result("fills", fills, None, False, PROPREPORTS)
        totals = parse_propreports_totals(path, account=account, expected_dates=expected_dates,
                                          skip_lines=skip_lines)
        return _result("totals", None, totals, False, PROPREPORTS)
    mapping = load_mapping(source)
    fills = parse_mapped_fills(path, mapping, calendar=calendar, account=account,
                               expected_dates=expected_dates, skip_lines=skip_lines,
                               contracts=contracts)
    return _result("fills", fills, derive_totals(fills), True, mapping.name)


def block_converter(path: str | Path, source: str, *, calendar: str,
                    account: str | None = None, contracts: str | Path | None = None
                    ) -> tuple[Callable[[RawTable], tuple], frozenset[str]] | None:
    """For a fills file of ``source`` (as :func:`parse_file` reads it), the function that turns a
    block of its records (a RawTable) into the FILLS Arrow table and the records' lines, and the
    headers (normalized) it reads as numbers only, which a block may hold as float64 (see
    ``stream.BlockReader``); None for a totals file (read whole: totals are summed per day over
    the file)."""
    if source == PROPREPORTS:
        if not is_fills_header(peek_header(check_input_path(path))):
            return None

        def convert_propreports(raw: RawTable) -> tuple:
            # the timezone on first use (building the calendar takes ~0.4 s: the streamed
            # landing does it while the first block is read)
            tz = "America/New_York" if calendar == CALENDAR_24_7 else calendar_timezone(calendar)
            return fills_table(raw, **fills_columns(raw, calendar=calendar, timezone=tz,
                                                    expected_dates=None))

        return convert_propreports, frozenset(
            normalize_header(c) for c in ("Qty", "Price", *FEE_COLUMNS))
    mapping = load_mapping(source)
    # the contract table read once, not per block (only a mapping with futures needs one)
    table = (load_contracts(contracts, mapping.contracts_file)
             if mapping.asset_class == "future" or mapping.asset_class_column else contracts)

    def convert(raw: RawTable) -> tuple:
        raw.decimal = mapping.decimal
        return fills_table(raw, **mapped_columns(raw, mapping, calendar=calendar,
                                                 account=account, expected_dates=None,
                                                 contracts=table))

    m = mapping
    numeric = set() if m.decimal != "." else {m.quantity, m.price, *m.fees, m.realized_pnl}
    # a column also read as text (a hash column: its text goes into the fill id) keeps its text
    as_text = {m.account, *m.time_columns, m.symbol, m.side_column, m.order_id, m.fill_id,
               m.liquidity_column, m.route, *m.hash_columns, m.event_column,
               m.asset_class_column, m.multiplier_column, *m.ignore_columns}
    return convert, frozenset(normalize_header(c) for c in numeric - as_text - {None})


def _result(kind, fills, totals, derived, source) -> ParsedFile:
    frame = fills if fills is not None else totals
    return ParsedFile(kind=kind, fills=fills, totals=totals, derived_totals=derived,
                      source=source, rows=len(fills if fills is not None else totals),
                      warnings=list(frame.attrs.get(WARNINGS_ATTR, [])),
                      lines=frame_lines(frame))
