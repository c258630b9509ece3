"""Stream a CSV fills export in blocks: memory bounded by the block size, not the file size.

The whole-file reader (``reader.read_raw``) holds the file's bytes, every column as text and the
converted frame at once (~1 GB per million PropReports rows). Here the file is read in blocks of
about ``CHUNK_BYTES`` cut at record boundaries (a newline outside quotes); each block becomes a
:class:`~risk_dagster.ingest.reader.RawTable` of its own records (with their true file lines),
goes through the same converters and checks as a whole file (``propreports.fills_columns``,
``mapping.mapped_columns``, ``fills_frame.fills_table``) and its canonical rows are written to
Parquet parts, one per date, under the landing zone's staging directory; the caller publishes
them (``inbox.publish_staged``).

Only plain files take this road. Whatever the block reader cannot vouch for gives up with
:class:`Unstreamable`, and so does every IngestError of a block: the caller then reads the file
whole, which gives the exact message (file, line, column, counts over the whole file) or handles
the unusual shape. Reasons to give up: not UTF-8 (or a UTF-16 BOM), a spreadsheet or binary
file, a record whose field count differs from the header (report structure, a broken line), a
record the CSV parser and the line count disagree on, no data rows, a warning that cannot be
added up over blocks (neither the header's nor a ``row_warnings.RowWarning``), any bad value, and
fill ids repeated across blocks. Row warnings (fills of an unknown event kind, outside trading
hours, not in USD, ...) are collected per block and merged (``merge_block_warnings``): counts and
first lines over the whole file, as the whole-file reader words them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from risk_dagster.core.lake import fast_write_options
from risk_dagster.core.prefetch import prefetched
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.reader import (DELIMITERS, RawTable, _refuse_binary, normalize_header,
                                        sniff_delimiter)
from risk_dagster.ingest.row_warnings import RowWarning, merge_block_warnings

CHUNK_BYTES = 16 << 20  # ~140k PropReports rows; a block's working set is ~10x its text
_BOM = b"\xef\xbb\xbf"


class Unstreamable(Exception):
    """The file needs the whole-file reader: an unusual shape, or an error to locate exactly."""


class BlockReader:
    """The records of the CSV ``path`` as RawTables of about ``chunk_bytes`` of text each, with
    their file lines (header = line 1). Iterating raises Unstreamable (see the module
    docstring); after the last block ``batch_id`` is the file's id (``inbox.file_batch_id``)."""

    def __init__(self, path: Path, chunk_bytes: int | None = None,
                 number_columns: frozenset[str] = frozenset()):
        self.path, self.chunk_bytes = Path(path), chunk_bytes or CHUNK_BYTES
        self.number_columns = number_columns
        self._digest = hashlib.sha256()
        self._done = False

    @property
    def batch_id(self) -> str:
        assert self._done, "read every block first"
        return self._digest.hexdigest()[:16]

    def _read(self, fh, size: int | None = None) -> bytes:
        data = fh.read(size or self.chunk_bytes)
        self._digest.update(data)
        return data

    def __iter__(self) -> Iterator[RawTable]:
        path = self.path
        with open(path, "rb") as fh:
            head = self._read(fh)
            if not head or head.isspace() or head.startswith(b"PK\x03\x04"):
                raise Unstreamable("empty or a spreadsheet")
            try:
                _refuse_binary(path, head)
            except IngestError:
                raise Unstreamable("binary") from None
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise Unstreamable("UTF-16")
            head = head.removeprefix(_BOM)
            end = head.find(b"\n")
            if end < 0:
                raise Unstreamable("no complete header line in the first block")
            try:
                header_line = head[:end].decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                raise Unstreamable("not UTF-8") from None
            delimiter = sniff_delimiter(header_line)
            header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
            if not any(header):
                raise Unstreamable("no header")
            warnings = ([f"{path.name}: read as {DELIMITERS[delimiter]}-separated values"]
                        if delimiter != "," else [])
            numeric = [i for i, h in enumerate(header)
                       if normalize_header(h) in self.number_columns]
            pending, next_line, eof = head[end + 1:], 2, False
            while not eof or pending:
                while not eof and len(pending) < self.chunk_bytes:
                    more = self._read(fh, self.chunk_bytes - len(pending))
                    eof = not more
                    pending += more
                piece, pending = _cut(pending, final=eof)
                if not piece or piece.isspace():
                    if eof and not pending:
                        break
                    raise Unstreamable("blank block")
                table = _parse(piece, len(header), delimiter, numeric)  # refuses bad UTF-8
                n_lines = piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1)
                if table.num_rows == n_lines:
                    lines = np.arange(next_line, next_line + n_lines, dtype=np.int64)
                else:  # blank lines or quoted newlines: find each record's first line
                    lines, physical = _record_lines(piece, delimiter, next_line)
                    if len(lines) != table.num_rows or physical != n_lines:
                        raise Unstreamable("records and lines disagree")
                next_line += n_lines
                if table.num_rows:
                    yield RawTable(path=path, header=header, table=table, data=b"",
                                   warnings=list(warnings), delimiter=delimiter, _lines=lines)
        self._done = True


def _cut(data: bytes, *, final: bool) -> tuple[bytes, bytes]:
    """(records, rest): ``data`` cut after its last newline that is outside quotes (an even
    number of quote characters before it); all of it at the end of the file."""
    if final:
        return data, b""
    cut = data.rfind(b"\n")
    quotes = data.count(b'"', 0, cut + 1) if cut >= 0 else 0
    while cut >= 0 and quotes % 2:
        prev = data.rfind(b"\n", 0, cut)
        quotes -= data.count(b'"', prev + 1, cut + 1)
        cut = prev
    if cut < 0:
        raise Unstreamable("a record longer than a block")
    return data[:cut + 1], data[cut + 1:]


def _parse(piece: bytes, n_fields: int, delimiter: str, numeric: list[int] = ()) -> pa.Table:
    """The records of ``piece`` as string columns ``c0``.. but for the ``numeric`` ones, read as
    float64 (an empty cell null) when every cell of theirs is a plain number; when one is not
    ("1,234.50", "(12.50)", text), the block is read as strings only and the converters say."""
    names = [f"c{i}" for i in range(n_fields)]
    for typed in ([True, False] if numeric else [False]):
        odd = []
        types = {n: pa.string() for n in names}
        if typed:  # parsed straight to numbers: ~40 ms a block less than strings, then a cast
            types.update({names[i]: pa.float64() for i in numeric})
        try:
            table = pacsv.read_csv(
                io.BytesIO(piece),
                read_options=pacsv.ReadOptions(column_names=names,
                                               block_size=max(1 << 20, len(piece) // 2 + 1)),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter,
                    invalid_row_handler=lambda row: odd.append(1) or "skip"),
                convert_options=pacsv.ConvertOptions(
                    column_types=types, strings_can_be_null=False,
                    quoted_strings_can_be_null=False, null_values=[""]))
        except pa.ArrowInvalid:  # a quoting problem, not UTF-8 (string columns are checked),
            if typed:            # or a numeric cell that is not a plain number
                continue
            raise Unstreamable("CSV parse error or not UTF-8") from None
        if odd:
            raise Unstreamable("a record with the wrong number of fields")
        return table


def _record_lines(piece: bytes, delimiter: str, first_line: int) -> tuple[np.ndarray, int]:
    """First line of each record of ``piece`` (its first line is ``first_line``), and how many
    physical lines the csv module saw."""
    reader = csv.reader(io.StringIO(piece.decode("utf-8"), newline=""), delimiter=delimiter)
    lines, start = [], first_line
    for record in reader:
        if record:
            lines.append(start)
        start = first_line + reader.line_num
    return np.asarray(lines, dtype=np.int64), reader.line_num


def header_warning(path: Path, warning: str) -> bool:
    """True for a warning every block of a file repeats (about its header, not its rows)."""
    return warning.startswith((f"{path.name}: ignored unknown column(s)",
                               f"{path.name}: read as "))


def stage_blocks(path: Path, convert: Callable[[RawTable], tuple[pa.Table, np.ndarray]],
                 stage: Path, *, extra: dict[str, pa.Scalar],
                 check: Callable[[pa.Table, np.ndarray], None] | None = None,
                 chunk_bytes: int | None = None,
                 warm: Callable[[], object] | None = None,
                 number_columns: frozenset[str] = frozenset()) -> dict:
    """Convert the blocks of ``path`` with ``convert`` (a RawTable -> the FILLS table and its
    lines) and write each block's rows, sorted by date, to ``stage/YYYY-MM-DD-NNNNN.parquet``
    with the constant columns ``extra`` (landed_at, replaces) appended. ``check(table, lines)``
    runs on each block (the landing's date checks); ``warm()`` once while the first block is
    read (what the first conversion would build: a calendar); ``number_columns``: the headers
    (normalized) that ``convert`` reads as numbers only (``convert.numbers``), parsed to float64
    straight from the CSV. Raises Unstreamable (every IngestError of a
    block included; nothing outside ``stage`` is written).

    Returns ``{"parts": {date: [paths]}, "rows": n, "warnings": [...], "blocks": n,
    "batch_id": hex16}``; the warnings are the file's (the blocks' added up).
    """
    parts: dict[str, list[Path]] = {}
    stage.mkdir(parents=True, exist_ok=True)
    blocks = BlockReader(path, chunk_bytes or CHUNK_BYTES, number_columns)
    rows, warnings, k = 0, [], 0
    # Parquet encoding and CSV parsing release the GIL: the next block is read while this one
    # is converted, and parts are written beside
    with ThreadPoolExecutor(2) as pool, closing(prefetched(blocks, warm)) as read_ahead:
        writes: list = []
        try:
            for raw in read_ahead:  # at most two blocks in memory
                table, lines = convert(raw)
                if check is not None:
                    check(table, lines)
                odd = [w for w in raw.warnings
                       if not isinstance(w, RowWarning) and not header_warning(path, w)]
                if odd:  # a warning that cannot be added up over blocks
                    raise Unstreamable(f"a warning that is not a RowWarning: {odd[0]}")
                warnings.append(raw.warnings)
                rows += table.num_rows
                n_before = len(writes)
                for key, part in _by_date(table, extra):
                    target = stage / f"{key}-{k:05d}.parquet"
                    parts.setdefault(key, []).append(target)
                    writes.append(pool.submit(_write, target, part))
                k += 1
                _raise_first(writes, keep=len(writes) - n_before)  # one block's writes pending
        except BaseException as exc:
            for w in writes:
                w.cancel()
            if isinstance(exc, IngestError):
                raise Unstreamable(str(exc)) from None
            raise
        _raise_first(writes)
    if not rows:
        raise Unstreamable("no data rows")
    return {"parts": parts, "rows": rows, "warnings": merge_block_warnings(warnings),
            "blocks": k, "batch_id": blocks.batch_id}


def _raise_first(futures: list, *, keep: int = 0) -> None:
    """Wait for all but the last ``keep`` futures (raising the first error) and forget them."""
    done = futures[:len(futures) - keep]
    for f in done:
        f.result()
    del futures[:len(done)]


def _by_date(table: pa.Table, extra: dict[str, pa.Scalar]) -> Iterator[tuple[str, pa.Table]]:
    """(YYYY-MM-DD, rows of that date in file order) with the ``extra`` columns appended."""
    n = table.num_rows
    for name, value in extra.items():
        table = table.append_column(name, pa.repeat(value, n))
    days = table["trade_date"].to_numpy().astype("datetime64[D]")
    if (days[1:] < days[:-1]).any():  # exports come sorted by time, mostly: then no copy
        order = np.argsort(days, kind="stable")
        table, days = table.take(pa.array(order)), days[order]
    cuts = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
    for a, b in itertools.pairwise(cuts):
        yield str(days[a]), table.slice(int(a), int(b - a))


def _write(target: Path, table: pa.Table) -> None:
    pq.write_table(table, target, **fast_write_options(table.schema))


def combine_parts(parts: list[Path], target: Path, drop_ids: pa.Array | None = None) -> int:
    """Write the rows of ``parts`` (in order) to ``target`` as one Parquet file, one row group
    per part, leaving out the fill ids in ``drop_ids``; returns the rows written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written, writer = 0, None
    try:
        for part in parts:
            table = pq.read_table(part)
            if drop_ids is not None and len(drop_ids):
                table = table.filter(pc.invert(pc.is_in(table["fill_id"], value_set=drop_ids)))
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema,
                                          **fast_write_options(table.schema))
            if table.num_rows:
                writer.write_table(table)
                written += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return written
