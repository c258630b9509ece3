"""Read an export (CSV or .xlsx) into string columns, located by header name, with exact lines.

Every column is read as text (pyarrow.csv, multi-threaded; openpyxl for spreadsheets) so that the
converters can report the exact line of a bad value instead of a type-inference failure.
Decisions:

- Format: told by the bytes, not the file name. A ZIP holding ``xl/workbook.xml`` is an .xlsx
  workbook (first sheet; a record's line is its spreadsheet row); any other binary file (old .xls,
  ZIP, gzip, PDF, Parquet, NUL bytes) is refused saying what it looks like.
- Encoding: UTF-8 (a UTF-8 BOM is accepted and dropped; a UTF-16 BOM is honoured). A file that is
  not valid UTF-8 is decoded as cp1252 (or latin-1 when cp1252 cannot map a byte) and the fallback
  is reported in the warnings with the byte offset and line of the first undecodable byte: money,
  sizes and ids are ASCII, so only free text (symbols, routes) can be affected, and the operator is
  told where. UTF-16 without a BOM is refused (it cannot be told from binary reliably).
- Delimiter: ``,``, ``;`` or tab, the one that splits the header line into the most fields; a
  header line with none of them and one column only is read as one column.
- Header names are matched after trimming and collapsing whitespace, case-insensitively; never by
  position.
- A record with fewer (or more) fields than the header is an error naming its line, except report
  structure: ``Page N/M`` footers of API replies and one-field section or date header lines are
  recognised by their shape, kept in ``RawTable.structure`` (with their lines) and never become
  data rows.
- Line numbers count physical lines (header = 1); blank lines are skipped but still counted.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from risk_dagster.ingest.errors import IngestError

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
PAGE_FOOTER = re.compile(r"^\s*Page\s+(\d+)\s*(?:/|of)\s*(\d+)\s*$", re.IGNORECASE)
# Magic bytes of binary formats people drop by mistake, and what to tell them.
_BINARY = [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel 97-2003 .xls workbook (save it as .xlsx "
                                          "or CSV)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
]


def normalize_header(name: str) -> str:
    """The key a header is matched on: trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(name.split()).casefold()


@dataclass
class StructureLine:
    """A report line that is not a data row: ``kind`` is "page_footer", "section_header",
    "date_header" or "total" (the last ones are told by the report parsers)."""

    line: int
    kind: str
    text: str


@dataclass
class RawTable:
    """An export as string columns. Record ``i`` (0-based) sits on line ``lines()[i]``.

    ``fmt`` is "csv" or "xlsx"; ``delimiter`` the CSV delimiter; ``decimal`` the decimal mark the
    numbers use ("." unless the mapping says ","); ``structure`` the report lines recognised and
    left out of the data.
    """

    path: Path
    header: list[str]
    table: pa.Table
    data: bytes  # the CSV as UTF-8 (BOM dropped), for line numbers; b"" for a spreadsheet
    warnings: list[str] = field(default_factory=list)
    fmt: str = "csv"
    delimiter: str = ","
    decimal: str = "."
    structure: list[StructureLine] = field(default_factory=list)
    _lines: np.ndarray | None = None
    _columns: dict = field(default_factory=dict, repr=False)  # (name, trim) -> text, until drop()

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
                              f"(found: {', '.join(self.header)}{self._delimiter_hint()})")
        return found

    def _delimiter_hint(self) -> str:
        if len(self.header) != 1:
            return ""
        return f"; the header is one field when split on {DELIMITERS.get(self.delimiter, '?')}s"

    def column(self, name: str, *, trim: bool = True) -> pa.Array:
        """The text of column ``name`` (as found by :meth:`find`), whitespace-trimmed; float64
        for a column a streamed block read as numbers (``stream.BlockReader``)."""
        key = (name, trim)
        if key not in self._columns:  # the converters ask for some columns several times
            values = self.table.column(self.header.index(name)).combine_chunks()
            self._columns[key] = (pc.utf8_trim_whitespace(values)
                                  if trim and pa.types.is_string(values.type) else values)
        return self._columns[key]

    def lines(self) -> np.ndarray:
        """Line number of every record (int64, header = line 1)."""
        if self._lines is None:
            self._lines = _record_lines(self.data, self.n_rows, self.delimiter, len(self.header))
        return self._lines

    def error(self, index: int | None, column: str | None, message: str) -> IngestError:
        """An IngestError for record ``index`` (0-based; None for a file-level problem)."""
        row = None if index is None else int(self.lines()[index])
        return IngestError(self.path, row, column, message)

    def drop(self, mask: np.ndarray, kind: str, first_column: str | None = None) -> None:
        """Remove the records where ``mask`` is True, keeping them in ``structure`` as ``kind``."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        lines = self.lines()
        col = first_column or self.header[0]
        texts = self.column(col).to_pylist()
        for i in np.flatnonzero(mask):
            self.structure.append(StructureLine(int(lines[i]), kind, texts[i]))
        keep = ~mask
        self.table = self.table.filter(pa.array(keep))
        self._lines = lines[keep]
        self._columns.clear()

    def ignore_unknown(self, known: set[str]) -> None:
        """Add a warning for each header that is not in ``known`` (normalized names)."""
        extra = [h for h in self.header if normalize_header(h) not in known]
        if extra:
            self.warnings.append(f"{self.path.name}: ignored unknown column(s) "
                                 + ", ".join(repr(h) for h in extra))


def peek_header(path: str | Path) -> list[str]:
    """The header of a CSV or .xlsx export (first 64 KiB only; [] when unreadable): enough to
    tell a fills export from a totals export before parsing it."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(b"PK\x03\x04"):
        try:
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                for row in book.worksheets[0].iter_rows(values_only=True):
                    cells = [_cell_text(v).strip() for v in row]
                    if any(cells):
                        return cells
            finally:
                book.close()
        except Exception:  # noqa: BLE001 - read_raw reports the broken workbook properly
            return []
        return []
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8-sig", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    return [h.strip() for h in next(csv.reader([first], delimiter=sniff_delimiter(first)), [])]


def check_input_path(path: str | Path) -> Path:
    """``path`` as a Path when it is a readable file; IngestError saying what it is otherwise."""
    path = Path(path)
    if not path.exists():
        raise IngestError(path, None, None, f"no such file: {path}")
    if path.is_dir():
        raise IngestError(path, None, None, f"is a directory, not a file: {path}")
    if not path.is_file():
        raise IngestError(path, None, None, f"not a regular file: {path}")
    return path


def read_raw(path: str | Path, *, decimal: str = ".", skip_lines=()) -> RawTable:
    """Read ``path`` (CSV or .xlsx) as a header plus string columns; IngestError on a broken file.

    ``decimal`` is the decimal mark of the numbers ("." or ","), used by the converters;
    ``skip_lines`` are lines (records) to leave out, kept in ``structure`` as "skipped".
    """
    path = check_input_path(path)
    data = path.read_bytes()
    if not data or data.isspace():
        raise IngestError(path, None, None, f"empty file ({len(data)} bytes)")
    if data.startswith(b"PK\x03\x04"):
        raw = _read_xlsx(path)
    else:
        _refuse_binary(path, data)
        data, warnings = _utf8(path, data)
        raw = _read_csv(path, data, warnings)
    raw.decimal = decimal
    skip = set(skip_lines)
    if skip and raw.n_rows:
        raw.drop(np.isin(raw.lines(), list(skip)), "skipped")
    if raw.n_rows == 0:
        raise IngestError(path, None, None, "the file has a header but no data rows")
    return raw


def _refuse_binary(path: Path, data: bytes) -> None:
    for magic, what in _BINARY:
        if data.startswith(magic):
            raise IngestError(path, None, None, f"not a CSV or .xlsx file: it is {what}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    head = data[:8192]
    if b"\x00" in head:
        zeros = head.count(b"\x00")
        odd = head[1::2].count(b"\x00")
        if zeros > len(head) // 4 and odd >= zeros * 0.9:
            raise IngestError(path, None, None, "not a CSV or .xlsx file: it looks like UTF-16 "
                              "text without a byte-order mark; save it as UTF-8")
        raise IngestError(path, None, None, "not a CSV or .xlsx file: binary content (NUL bytes "
                          f"in the first {len(head)} bytes)")


def _utf8(path: Path, data: bytes) -> tuple[bytes, list[str]]:
    """The file as UTF-8 bytes, and a warning when it had to be decoded otherwise."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), []
        except UnicodeDecodeError as exc:
            raise IngestError(path, None, None, "starts with a UTF-16 byte-order mark but is not "
                              f"valid UTF-16 (at byte {exc.start})") from None
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


def sniff_delimiter(header_line: str) -> str:
    """The delimiter (``,`` ``;`` or tab) that splits ``header_line`` into the most fields."""
    best, best_n = ",", 1
    for delim in DELIMITERS:
        n = len(next(csv.reader([header_line], delimiter=delim), []))
        if n > best_n:
            best, best_n = delim, n
    return best


def _read_csv(path: Path, data: bytes, warnings: list[str]) -> RawTable:
    end = data.find(b"\n")
    header_line = (data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    delimiter = sniff_delimiter(header_line)
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    if not any(header):
        raise IngestError(path, 1, None, "the first line is not a header")
    if delimiter != ",":
        warnings.append(f"{path.name}: read as {DELIMITERS[delimiter]}-separated values")
    table, odd = _parse(path, data, header, delimiter)
    raw = RawTable(path=path, header=header, table=table, data=data, warnings=warnings,
                   delimiter=delimiter)
    if odd:
        _sort_out_odd_records(raw, odd)
    return raw


def _parse(path: Path, data: bytes, header: list[str],
           delimiter: str) -> tuple[pa.Table, list[str]]:
    """The records as string columns, and the text of records whose field count is wrong."""
    names = [f"c{i}" for i in range(len(header))]
    odd: list[str] = []

    def on_invalid(row) -> str:
        odd.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _locate_bad_record(path, data, len(header), delimiter, exc) from None
    return table, odd


def _is_structure(record: list[str]) -> str | None:
    """The kind of a short record that is report structure, None for a broken data record."""
    cells = [c.strip() for c in record if c.strip()]
    if len(cells) != 1:
        return None
    if PAGE_FOOTER.match(cells[0]):
        return "page_footer"
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}", cells[0]):
        return "date_header"
    if re.fullmatch(r"[A-Za-z][A-Za-z &/\-]{1,40}:?", cells[0]):
        return "section_header"
    return None


def _sort_out_odd_records(raw: RawTable, odd: list[str]) -> None:
    """Records with the wrong field count: report structure is kept aside, anything else is an
    error naming its line (found by one pass of the csv module, only for such files)."""
    n_fields = len(raw.header)
    reader = csv.reader(io.StringIO(raw.data.decode("utf-8"), newline=""),
                        delimiter=raw.delimiter)
    next(reader)
    lines, start = [], reader.line_num + 1
    for record in reader:
        if record and len(record) == n_fields:
            lines.append(start)
        elif record:
            kind = _is_structure(record)
            if kind is None:
                what = "truncated line?" if len(record) < n_fields else (
                    "unquoted delimiter?" if raw.delimiter != "," else "unquoted comma?")
                raise IngestError(raw.path, start, None,
                                  f"expected {n_fields} fields, got {len(record)} ({what})")
            raw.structure.append(StructureLine(start, kind, record[0].strip() or
                                               next(c for c in record if c.strip()).strip()))
        start = reader.line_num + 1
    if len(lines) != raw.n_rows:  # the csv module and pyarrow disagree: do not guess lines
        raise IngestError(raw.path, None, None, "cannot tell the lines of the records apart "
                          f"({len(lines)} vs {raw.n_rows}); check the quoting")
    raw._lines = np.asarray(lines, dtype=np.int64)
    _check_page_footers(raw)


def _check_page_footers(raw: RawTable) -> None:
    """Footers must read Page 1/M .. M/M in order: a missing page is an error, not a gap."""
    footers = [s for s in raw.structure if s.kind == "page_footer"]
    if not footers:
        return
    pages = [tuple(int(g) for g in PAGE_FOOTER.match(s.text).groups()) for s in footers]
    total = pages[0][1]
    want = [(i, total) for i in range(1, total + 1)]
    if pages != want:
        got = ", ".join(f"{n}/{m}" for n, m in pages)
        raise IngestError(raw.path, footers[0].line, None,
                          f"page footers read {got}: expected 1/{total} .. {total}/{total} "
                          "(a page is missing or repeated)")
    last = int(raw.lines()[-1])
    if footers[-1].line < last:
        raise IngestError(raw.path, footers[-1].line, None,
                          f"data rows after the last page footer (line {last})")


def _locate_bad_record(path: Path, data: bytes, n_fields: int, delimiter: str,
                       exc: Exception) -> IngestError:
    """Slow path, only on error: find the first record whose field count differs."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    next(reader)
    start = reader.line_num + 1
    for record in reader:
        if record and len(record) != n_fields:
            what = "truncated line?" if len(record) < n_fields else "unquoted comma?"
            return IngestError(path, start, None,
                               f"expected {n_fields} fields, got {len(record)} ({what})")
        start = reader.line_num + 1
    return IngestError(path, None, None, f"cannot parse the CSV: {exc}")


def _record_lines(data: bytes, n_rows: int, delimiter: str, n_fields: int) -> np.ndarray:
    """Physical line of each record; a cheap identity when every line holds one record."""
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if n_lines == n_rows + 1:
        return np.arange(2, n_rows + 2, dtype=np.int64)
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    next(reader)
    lines, start = [], reader.line_num + 1
    for record in reader:
        if record and len(record) == n_fields:
            lines.append(start)
        start = reader.line_num + 1
    return np.asarray(lines, dtype=np.int64)


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold (dates as ISO, no float noise)."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.microsecond:
            return value.isoformat(sep=" ")
        return value.strftime("%Y-%m-%d" if value.time() == dt.time() else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _read_xlsx(path: Path) -> RawTable:
    """The first sheet of an .xlsx workbook; record lines are spreadsheet row numbers."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise IngestError(path, None, None, "not a CSV or .xlsx file: a damaged ZIP archive") \
            from None
    if "xl/workbook.xml" not in names:
        what = ("an OpenDocument spreadsheet (save it as .xlsx or CSV)" if "content.xml" in names
                else "a ZIP archive, not an .xlsx workbook (unpack it first)")
        raise IngestError(path, None, None, f"not a CSV or .xlsx file: it is {what}")
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken workbook
        raise IngestError(path, None, None, f"cannot read the .xlsx workbook: {exc}") from None
    warnings: list[str] = []
    try:
        sheet = book.worksheets[0]
        if len(book.worksheets) > 1:
            warnings.append(f"{path.name}: read the first sheet {sheet.title!r} only "
                            f"({len(book.worksheets)} sheets)")
        header: list[str] | None = None
        columns: list[list[str]] = []
        lines: list[int] = []
        structure: list[StructureLine] = []
        for row_no, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v).strip() if isinstance(v, str) else _cell_text(v) for v in row]
            if header is None:
                if not any(cells):
                    continue
                while cells and not cells[-1]:
                    cells.pop()
                header = [c.strip() for c in cells]
                header_row = row_no
                columns = [[] for _ in header]
                continue
            if not any(cells):
                continue
            extra = [c for c in cells[len(header):] if c]
            if extra:
                raise IngestError(path, row_no, None, f"expected {len(header)} cells, got "
                                  f"{len(header) + len(extra)} (a value right of the header)")
            cells = cells[:len(header)] + [""] * (len(header) - len(cells))
            filled = [c for c in cells if c]
            if len(filled) == 1 and PAGE_FOOTER.match(filled[0]):
                structure.append(StructureLine(row_no, "page_footer", filled[0]))
                continue
            for col, value in zip(columns, cells, strict=True):
                col.append(value)
            lines.append(row_no)
    finally:
        book.close()
    if header is None or not any(header):
        raise IngestError(path, None, None, "the first sheet is empty")
    if header_row != 1:
        warnings.append(f"{path.name}: header on spreadsheet row {header_row}")
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    return RawTable(path=path, header=header, table=table, data=b"", warnings=warnings,
                    fmt="xlsx", structure=structure, _lines=np.asarray(lines, dtype=np.int64))
