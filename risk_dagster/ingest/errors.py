"""The one error type of ingestion: it names the file, the line and the column at fault; and
reading a YAML file (a column mapping, a contracts table) so that its errors can too."""

from __future__ import annotations

from pathlib import Path

import yaml


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


def read_yaml(path: str | Path) -> tuple[object, dict[str, int]]:
    """The YAML document of ``path`` and the line (1-based) of each key of its mappings, by
    dotted path (``"time.timezone"``, ``"contracts.ES.point_value"``). IngestError naming the
    file and the line on a syntax error, and naming the file when it is missing or not UTF-8."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(path, None, None, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise IngestError(path, None, None, f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(source), _key_lines(yaml.compose(source))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IngestError(path, line, None, f"YAML syntax error: {problem}") from None


def _key_lines(node, prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            out[name] = key.start_mark.line + 1
            out.update(_key_lines(value, name + "."))
    return out
