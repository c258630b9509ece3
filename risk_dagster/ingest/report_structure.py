"""PropReports report structure: the lines of a report that are not data rows.

PropReports' CSV reports are printed reports saved as CSV: the summary-by-date report ends each
instrument section with a total row (``Equities,,,...,1234.56`` — a label where the date goes and
only some money columns filled) and may end with a grand total; the trades report has section
and date header lines (a label or a date alone on a line); API replies end with ``Page N/M``.
Here they are recognised by their shape, checked (a total must equal the sum of its day rows,
else an error naming both lines) and removed from the data, kept in ``RawTable.structure``.
One-field lines never reach the table (the reader keeps them aside); full-width ones are told
apart here.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow.compute as pc

from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.reader import RawTable, StructureLine

_LABEL = r"^[A-Za-z][A-Za-z &/\-]{0,40}:?$"
_DATE_ONLY = r"^(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})$"
GRAND_TOTALS = {"total", "totals", "grand total", "total:", "totals:", "grand total:"}


def _empty(raw: RawTable, col: str) -> np.ndarray:
    return pc.equal(raw.column(col), "").to_numpy(zero_copy_only=False)


def split_totals_report(raw: RawTable, date_col: str, sum_cols: list[str],
                        number) -> None:
    """Remove section headers and total rows from a summary-by-date report, checking each total.

    ``date_col`` is the Date column (a label there marks structure); ``sum_cols`` the columns a
    total may carry (each filled one must equal the sum of the day rows it closes, within half a
    cent per row); ``number(raw, col)`` the number converter. A total closes the day rows since
    the previous section total; a grand total (``Total``) closes every day row of the file.
    """
    first = raw.column(date_col)
    label = pc.match_substring_regex(first, _LABEL).to_numpy(zero_copy_only=False)
    if not label.any():
        return
    others = [c for c in raw.header if c != date_col]
    all_empty = np.logical_and.reduce([_empty(raw, c) for c in others]) if others else label
    header_rows = label & all_empty
    total_rows = label & ~all_empty
    lines = raw.lines()
    texts = first.to_pylist()
    day = ~label
    checks = []
    seg_start = 0
    for i in np.flatnonzero(total_rows):
        grand = texts[i].strip().casefold() in GRAND_TOTALS
        rows = np.flatnonzero(day[:i]) if grand else \
            np.flatnonzero(day[seg_start:i]) + seg_start
        checks.append((i, rows))
        if not grand:
            seg_start = i + 1
    for i, rows in checks:
        _check_total(raw, i, rows, [c for c in sum_cols if c in raw.header], number,
                     lines, texts[i])
    raw.drop(header_rows, "section_header", date_col)
    raw.drop(total_rows[~header_rows], "total", date_col)  # re-indexed after the first drop


def _check_total(raw: RawTable, i: int, rows: np.ndarray, cols: list[str], number,
                 lines: np.ndarray, label: str) -> None:
    if len(rows) == 0:
        raise IngestError(raw.path, int(lines[i]), None,
                          f"total row {label!r} closes no day rows")
    span = (f"line {lines[rows[0]]}" if len(rows) == 1 else
            f"lines {lines[rows[0]]}-{lines[rows[-1]]}")
    for col in cols:
        cell = raw.column(col)[i].as_py()
        if cell == "":
            continue
        sub = _Rows(raw, np.r_[rows, i])
        values = number(sub, col)
        got, parts = values[-1], values[:-1]
        want = float(np.nansum(parts))
        tol = 0.005 * (len(parts) + 1) + 1e-9 * abs(want)
        if abs(got - want) > tol:
            raise IngestError(raw.path, int(lines[i]), col,
                              f"total row {label!r} ({col} {got:,.2f}) is not the sum of its day "
                              f"rows on {span} ({want:,.2f})")


class _Rows:
    """A view of some records of a RawTable, for the converters (same file, same lines)."""

    def __init__(self, raw: RawTable, idx: np.ndarray):
        self._raw, self._idx = raw, idx
        self.path, self.header, self.decimal, self.fmt = raw.path, raw.header, raw.decimal, raw.fmt
        self.warnings = raw.warnings
        self.n_rows = len(idx)

    def column(self, name: str, *, trim: bool = True):
        return self._raw.column(name, trim=trim).take(self._idx)

    def lines(self) -> np.ndarray:
        return self._raw.lines()[self._idx]

    def error(self, index, column, message):
        row = None if index is None else int(self.lines()[index])
        return IngestError(self.path, row, column, message)


def split_trades_report(raw: RawTable, time_col: str, side_col: str) -> None:
    """Remove full-width section and date header lines of a trades report and check that the
    fills under a date header carry that date (else an error naming both lines)."""
    first = raw.column(time_col)
    others = [c for c in raw.header if c != time_col]
    # a header line has an empty side: without any, no line is one (skips ~25 column scans)
    maybe = bool(_empty(raw, side_col).any())
    all_empty = (np.logical_and.reduce([_empty(raw, c) for c in others])
                 if others and maybe else None)
    if all_empty is not None and all_empty.any():
        is_date = pc.match_substring_regex(first, _DATE_ONLY).to_numpy(zero_copy_only=False)
        is_label = pc.match_substring_regex(first, _LABEL).to_numpy(zero_copy_only=False)
        odd = all_empty & ~is_date & ~is_label
        if odd.any():
            i = int(np.flatnonzero(odd)[0])
            raise raw.error(i, None, "a line with only its first cell filled "
                            f"({first[i].as_py()!r}) is neither a date nor a section header")
        raw.drop(all_empty & is_date, "date_header", time_col)
        first = raw.column(time_col)
        all_empty = np.logical_and.reduce([_empty(raw, c) for c in others])
        raw.drop(all_empty, "section_header", time_col)
    _check_date_headers(raw, time_col)


def _check_date_headers(raw: RawTable, time_col: str) -> None:
    heads = sorted((s for s in raw.structure if s.kind == "date_header"), key=lambda s: s.line)
    if not heads:
        return
    lines = raw.lines()
    head_lines = np.array([s.line for s in heads])
    owner = np.searchsorted(head_lines, lines, side="right") - 1
    days = pc.utf8_slice_codeunits(raw.column(time_col), 0, 10).to_pylist()
    for i in np.flatnonzero(owner >= 0):
        want = heads[owner[i]].text.strip()
        if not _same_day(days[i], want):
            raise raw.error(int(i), time_col, f"fill dated {days[i]!r} under the date header "
                            f"{want!r} on line {heads[owner[i]].line}")


def _same_day(text: str, header: str) -> bool:
    parts = re.split(r"[/\- ]", text.strip())
    head = re.split(r"[/\-]", header)
    return [p.lstrip("0") for p in parts[:3]] == [p.lstrip("0") for p in head[:3]]


__all__ = ["StructureLine", "split_totals_report", "split_trades_report"]
