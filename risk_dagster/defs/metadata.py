"""Helpers that turn domain objects into Dagster metadata."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from risk_dagster.core.schemas import TableSchema


def column_schema(schema: TableSchema) -> dg.TableSchema:
    """The canonical schema as Dagster column metadata (shown on the asset page)."""
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, str(c.type), description=f"[{c.unit}] {c.description}")
                 for c in schema.columns])


def markdown_table(frame: pd.DataFrame, max_rows: int = 30) -> dg.MetadataValue:
    shown = frame.head(max_rows)
    text = shown.to_markdown(index=False) if len(shown) else "_empty_"
    if len(frame) > max_rows:
        text += f"\n\n… {len(frame) - max_rows} more rows"
    return dg.MetadataValue.md(text)
