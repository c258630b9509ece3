"""Helpers that turn domain objects into Dagster metadata."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from risk_dagster.core.schemas import TableSchema
from risk_dagster.reporting.links import report_url


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


def report_links(lake, **paths) -> dict[str, dg.MetadataValue]:
    """Metadata linking reports: for each ``key=path`` (a file or folder under ``<data>/reports``
    or ``<data>/live``), ``key`` is a URL on the report server (a link in the UI) and
    ``key_path`` the path on disk (copied). ``lake``: a LakeResource (its ``root`` and
    ``reports_url``); without a ``reports_url``, ``key`` is the path."""
    out: dict[str, dg.MetadataValue] = {}
    for key, path in paths.items():
        if lake.reports_url:
            out[key] = dg.MetadataValue.url(report_url(lake.reports_url, lake.root, path))
            out[f"{key}_path"] = dg.MetadataValue.path(str(path))
        else:
            out[key] = dg.MetadataValue.path(str(path))
    return out


def markdown_link(text: str, url: str) -> str:
    """A Markdown link whose text cannot break the table it sits in."""
    safe = str(text).replace("\\", "").replace("[", "(").replace("]", ")").replace("|", "/")
    return f"[{safe}]({url})"
