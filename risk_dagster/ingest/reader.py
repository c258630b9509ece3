"""Read a CSV export into string columns, located by header name, with exact line numbers.

Every column is read as text (pyarrow.csv, multi-threaded) so that the converters can report the
exact line of a bad value instead of a type-inference failure. Decisions:

- Encoding: UTF-8 (a UTF-8 BOM is accepted and dropped; a UTF-16 BOM is honoured). A file that is
  not valid UTF-8 is decoded as cp1252 (or latin-1 when cp1252 cannot map a byte) and the fallback
  is reported in the warnings with the byte offset and line of the first undecodable byte: money,
  sizes and ids are ASCII, so only free text (symbols, routes) can be affected, and the operator is
  told where.
- Header names are matched after trimming and collapsing whitespace, case-insensitively; never by
  position.
- A record with fewer (or more) fields than the header is an error naming its line.
- Line numbers count physical lines (header = 1); blank lines are skipped but still counted.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from risk_dagster.ingest.errors import IngestError


def normalize_header(name: str) -> str:
    """The key a header is matched on: trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(name.split()).casefold()


@dataclass
class RawTable:
    """A CSV file as string columns. Record ``i`` (0-based) sits on line ``lines()[i]``."""

    path: Path
    header: list[str]
    table: pa.Table
    data: bytes  # the file as UTF-8 (BOM dropped), for line numbers
    warnings: list[str] = field(default_factory=list)
    _lines: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return self.table.num_rows

    def find(self, name: str) -> str | None:
        """The header as spelled in the file for ``name``, None if absent; error if twice."""
        key = normalize_header(name)
        hits = [h for h in self.header if normalize_header(h) == key]
        if len(hits) > 1:
            raise IngestError(self.path, 1, name, f"column appears {len(hits)} times in the header")
        return hits[0] if hits else None

    def require(self, name: str) -> str:
        found = self.find(name)
        if found is None:
            raise IngestError(self.path, 1, name, "required column is missing from the header "
                              f"(found: {', '.join(self.header)})")
        return found

    def column(self, name: str, *, trim: bool = True) -> pa.Array:
        """The text of column ``name`` (as found by :meth:`find`), whitespace-trimmed."""
        values = self.table.column(self.header.index(name)).combine_chunks()
        return pc.utf8_trim_whitespace(values) if trim else values

    def lines(self) -> np.ndarray:
        """Line number of every record (int64, header = line 1)."""
        if self._lines is None:
            self._lines = _record_lines(self.data, self.n_rows)
        return self._lines

    def error(self, index: int | None, column: str | None, message: str) -> IngestError:
        """An IngestError for record ``index`` (0-based; None for a file-level problem)."""
        row = None if index is None else int(self.lines()[index])
        return IngestError(self.path, row, column, message)

    def ignore_unknown(self, known: set[str]) -> None:
        """Add a warning for each header that is not in ``known`` (normalized names)."""
        extra = [h for h in self.header if normalize_header(h) not in known]
        if extra:
            self.warnings.append(f"{self.path.name}: ignored unknown column(s) "
                                 + ", ".join(repr(h) for h in extra))


def read_raw(path: str | Path) -> RawTable:
    """Read ``path`` as a header line plus string columns; raise IngestError on a broken file."""
    path = Path(path)
    data = path.read_bytes()
    if not data or data.isspace():
        raise IngestError(path, None, None, f"empty file ({len(data)} bytes)")
    data, warnings = _utf8(path, data)
    end = data.find(b"\n")
    header_line = (data if end < 0 else data[:end]).decode("utf-8")
    header = [h.strip() for h in next(csv.reader([header_line]))]
    if not any(header):
        raise IngestError(path, 1, None, "the first line is not a header")
    table = _parse(path, data, header)
    if table.num_rows == 0:
        raise IngestError(path, None, None, "the file has a header but no data rows")
    return RawTable(path=path, header=header, table=table, data=data, warnings=warnings)


def _utf8(path: Path, data: bytes) -> tuple[bytes, list[str]]:
    """The file as UTF-8 bytes, and a warning when it had to be decoded otherwise."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").encode("utf-8"), []
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        data.decode("utf-8")  # validate only; pyarrow reads the bytes
        return data, []
    except UnicodeDecodeError as exc:
        bad, line = exc.start, data.count(b"\n", 0, exc.start) + 1
    try:
        text, used = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, used = data.decode("latin-1"), "latin-1"
    return text.encode("utf-8"), [f"{path.name}: not valid UTF-8 (byte 0x{data[bad]:02x} at byte "
                                  f"offset {bad}, line {line}); decoded the file as {used}"]


def _parse(path: Path, data: bytes, header: list[str]) -> pa.Table:
    names = [f"c{i}" for i in range(len(header))]
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _locate_bad_record(path, data, len(header), exc) from None


def _locate_bad_record(path: Path, data: bytes, n_fields: int, exc: Exception) -> IngestError:
    """Slow path, only on error: find the first record whose field count differs."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader)
    start = reader.line_num + 1
    for record in reader:
        if record and len(record) != n_fields:
            what = "truncated line?" if len(record) < n_fields else "unquoted comma?"
            return IngestError(path, start, None,
                               f"expected {n_fields} fields, got {len(record)} ({what})")
        start = reader.line_num + 1
    return IngestError(path, None, None, f"cannot parse the CSV: {exc}")


def _record_lines(data: bytes, n_rows: int) -> np.ndarray:
    """Physical line of each record; a cheap identity when every line holds one record."""
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if n_lines == n_rows + 1:
        return np.arange(2, n_rows + 2, dtype=np.int64)
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader)
    lines, start = [], reader.line_num + 1
    for record in reader:
        if record:
            lines.append(start)
        start = reader.line_num + 1
    return np.asarray(lines, dtype=np.int64)
