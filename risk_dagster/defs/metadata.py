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


# Rows of a per-trader table kept in one materialization's metadata (the event log holds every
# materialization; the full list is in the published files).
TABLE_MAX_ROWS = 200
# The UI cuts Markdown metadata at about 20,000 characters without notice: stay under it.
MD_MAX_CHARS = 18_000


def desk_table(table: pd.DataFrame, columns, max_rows: int = TABLE_MAX_ROWS) -> dg.MetadataValue:
    """A desk table (``risk_dagster.recommendations.desk_view``) as a UI table with its schema:
    the first ``max_rows`` rows (the riskiest: the table comes sorted)."""
    kinds = {c.name: c.type for c in columns}

    def value(v, kind):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        return int(v) if kind == "int" else float(v) if kind == "float" else str(v)

    records = [dg.TableRecord({c: value(v, kinds[c]) for c, v in zip(table.columns, row)})
               for row in table.head(max_rows).itertuples(index=False)]
    schema = dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description)
                                     for c in columns])
    return dg.MetadataValue.table(records=records, schema=schema)


def shown_note(shown: int, total: int, where: str) -> str:
    """"all 40 traders" or "the riskiest 200 of 5,000 traders; all of them in <where>"."""
    if shown >= total:
        return f"all {total:,} traders"
    return f"the riskiest {shown:,} of {total:,} traders; all of them in {where}"


def per_partition_results(asset_key: dg.AssetKey, partition_keys: list[str], summary: dict,
                          per_key: dict[str, dict]):
    """Events for one run over ``partition_keys``.

    Dagster attaches a run's MaterializeResult to every partition of a single-run backfill, so
    the run's ``summary`` goes first and then one AssetMaterialization per partition with that
    partition's own metadata (``per_key[key]``), which becomes the partition's latest. A run of
    one partition yields one result with that partition's metadata and the summary.
    """
    if len(partition_keys) == 1:
        key = partition_keys[0]
        yield dg.MaterializeResult(metadata={**summary, **per_key.get(key, {})})
        return
    yield dg.MaterializeResult(metadata={"partitions_in_run": len(partition_keys), **summary})
    for key in partition_keys:
        yield dg.AssetMaterialization(asset_key=asset_key, partition=key,
                                      metadata=per_key.get(key, {}))


def report_link(path) -> dg.MetadataValue:
    """A report or published file as a path on disk (copied from the UI). ``report_links``
    gives the clickable link on the report server beside it."""
    return dg.MetadataValue.path(str(path))


def catalog_table(catalog: pd.DataFrame) -> dg.MetadataValue:
    """The feature catalog (name, category, description, window, unit, phrase) as a UI table."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({k: str(v) for k, v in row.items()})
                 for row in catalog.to_dict("records")],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in catalog.columns]))


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
