"""Ingestion: back-office exports (PropReports, any broker's CSV through a column mapping) parsed
into the canonical FILLS and TOTALS tables of ``risk_dagster.core.schemas``.

Domain code only (no Dagster). ``propreports_api`` and ``inbox`` (fetching and landing files) are
separate modules and are not imported here.
"""

from risk_dagster.ingest.derive import average_cost_pnl, derive_totals
from risk_dagster.ingest.dispatch import ParsedFile, parse_file
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.fills_frame import check_dates
from risk_dagster.ingest.mapping import ColumnMapping, load_mapping, parse_mapped_fills
from risk_dagster.ingest.propreports import parse_propreports_fills, parse_propreports_totals

__all__ = [
    "ColumnMapping", "IngestError", "ParsedFile", "average_cost_pnl", "check_dates",
    "derive_totals", "load_mapping", "parse_file", "parse_mapped_fills",
    "parse_propreports_fills", "parse_propreports_totals",
]
