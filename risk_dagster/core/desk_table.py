"""Tables for people: typed columns with a meaning, and Markdown that states where it was cut.

The Dagster UI cuts Markdown metadata at about 20,000 characters without notice; these helpers
cut first, at a row or line boundary, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DeskColumn:
    """A column of a desk table: its header, type ("string", "int", "float") and meaning."""

    name: str
    type: str
    description: str


TRADER_COLUMN = DeskColumn("trader", "string", "trader id")  # first column of every desk table


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown_rows(table: pd.DataFrame, max_chars: int, more_note: str) -> tuple[str, int]:
    """``table`` as a Markdown table of at most ``max_chars`` characters: as many rows as fit,
    then a line saying how many are shown (the first ones) and ``more_note`` (where the full
    list is). Returns (text, rows shown)."""
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    lines: list[str] = []
    size = len(header)
    budget = max_chars - 200 - len(more_note)  # room for the closing line
    for row in table.itertuples(index=False):
        line = "| " + " | ".join(_cell(v) for v in row) + " |\n"
        if size + len(line) > budget:
            break
        lines.append(line)
        size += len(line)
    text = header + "".join(lines)
    if len(lines) < len(table):
        text += f"\n{len(lines):,} of {len(table):,} rows shown; {more_note}\n"
    return text, len(lines)


def cut_text(text: str, max_chars: int, more_note: str) -> str:
    """``text`` whole if it fits in ``max_chars``, else cut at the last line break that fits,
    followed by a line saying it was cut and ``more_note`` (where the whole text is)."""
    if len(text) <= max_chars:
        return text
    tail = f"\n\n**Cut here**: {max_chars:,} of {len(text):,} characters shown. {more_note}\n"
    keep = text[:max_chars - len(tail)]
    keep = keep[:keep.rfind("\n")] if "\n" in keep else keep
    return keep + tail
