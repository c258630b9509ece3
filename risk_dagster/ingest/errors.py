"""The one error type of ingestion: it names the file, the line and the column at fault."""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """A file that cannot be turned into canonical rows.

    ``file`` is the file's name, ``row`` the 1-based line number in the file (the header is line 1;
    None when the problem is not tied to a line), ``column`` the source column's header (None when
    not tied to a column). ``str()`` reads like
    ``fills.csv, line 17, column 'Qty': quantity must be > 0 (got -5)``.
    """

    def __init__(self, file: str | Path, row: int | None, column: str | None, message: str):
        self.path = str(file)
        self.file = Path(file).name or self.path
        self.row = row
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"line {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts) + f": {self.message}"

    def __reduce__(self):  # keep the exception copyable across processes (no pickling of data)
        return (type(self), (self.path, self.row, self.column, self.message))
