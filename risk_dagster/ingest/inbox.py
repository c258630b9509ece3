"""The drop folder and the landing zone.

Files dropped in ``<data>/inbox/<source>/`` (``source`` is ``propreports`` or a column-mapping
preset such as ``hyperliquid``) are parsed into canonical tables and *landed*:
``<data>/landing/<table>/date=YYYY-MM-DD/<source>-<batch>.parquet``, one file per source file
and date. A source with its own column mapping keeps it in ``<data>/mappings/<source>.yaml``. A batch id is the hash of the file's bytes, so dropping the same file twice replaces
its landing files instead of doubling its rows. The processed file moves to
``<data>/archive/<source>/``; a file that fails to parse moves to ``<data>/rejected/<source>/``
with ``<name>.error.txt`` beside it, and nothing already landed or stored changes.

``raw_fills``/``raw_totals`` for a date read every landing file of that date. When two batches
hold the same (date, trader) — a re-export of a day — the latest landed wins, so a corrected
export replaces the earlier one rather than adding to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from risk_dagster.core.lake import write_parquet_atomic
from risk_dagster.core.schemas import FILLS, TOTALS

INBOX, LANDING, ARCHIVE, REJECTED, MAPPINGS = "inbox", "landing", "archive", "rejected", "mappings"
TABLES = {"fills": FILLS, "totals": TOTALS}


@dataclass
class InboxResult:
    """What happened to one dropped file."""

    path: Path
    source: str
    status: str  # "landed" | "rejected"
    moved_to: Path
    batch_id: str = ""
    dates: list[str] = field(default_factory=list)
    rows: int = 0
    kind: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def pending_files(data_dir: Path) -> list[tuple[str, Path]]:
    """(source, file) for every visible file waiting in ``<data>/inbox/<source>/``."""
    root = Path(data_dir) / INBOX
    if not root.exists():
        return []
    out = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(source_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                out.append((source_dir.name, path))
    return out


def file_batch_id(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():  # keep earlier copies: never overwrite an archived or rejected file
        target = folder / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}{path.suffix}"
    shutil.move(str(path), target)
    return target


def land(data_dir: Path, table: str, source: str, batch_id: str, frame: pd.DataFrame) -> list[str]:
    """Write ``frame`` (canonical ``table``) to the landing zone, one file per date."""
    schema = TABLES[table]
    landed_at = pd.Timestamp.now(tz="UTC")
    dates = []
    for day, part in schema.conform(frame).groupby("trade_date", sort=True):
        arrow = schema.to_arrow(part).append_column(
            "landed_at", pa.array([landed_at] * len(part), pa.timestamp("us", tz="UTC")))
        key = pd.Timestamp(day).strftime("%Y-%m-%d")
        write_parquet_atomic(
            Path(data_dir) / LANDING / table / f"date={key}" / f"{source}-{batch_id}.parquet", arrow)
        dates.append(key)
    return dates


def process_inbox_file(path: Path, source: str, data_dir: Path, *, calendar: str,
                       parse=None) -> InboxResult:
    """Parse, land and archive one dropped file; on any error reject it with an error file."""
    from risk_dagster.ingest import parse_file  # the parsers' dispatch

    parse = parse or parse_file
    path, data_dir = Path(path), Path(data_dir)
    custom = data_dir / MAPPINGS / f"{source}.yaml"  # a user's own column mapping
    try:
        batch_id = file_batch_id(path)
        parsed = parse(path, str(custom) if custom.exists() else source, calendar=calendar)
        frame = parsed.fills if parsed.kind == "fills" else parsed.totals
        dates = land(data_dir, parsed.kind, source, batch_id, frame)
    except Exception as exc:  # noqa: BLE001 - every failure must reject the file, not lose it
        moved = _move(path, data_dir / REJECTED / source)
        message = f"{type(exc).__name__}: {exc}"
        moved.with_name(moved.name + ".error.txt").write_text(
            f"{message}\n\nfile: {path}\nsource: {source}\nrejected: {dt.datetime.now(dt.UTC).isoformat()}\n\n"
            + traceback.format_exc())
        return InboxResult(path, source, "rejected", moved, error=message)
    moved = _move(path, data_dir / ARCHIVE / source)
    return InboxResult(path, source, "landed", moved, batch_id, dates, len(frame), parsed.kind,
                       warnings=list(parsed.warnings))


def landed_files(data_dir: Path, table: str, day: str) -> list[Path]:
    folder = Path(data_dir) / LANDING / table / f"date={day}"
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def landing_changes(data_dir: Path, since: float) -> dict[str, float]:
    """Dates whose landing files changed after ``since`` (epoch s) -> latest change time."""
    root = Path(data_dir) / LANDING
    changes: dict[str, float] = {}
    if not root.exists():
        return changes
    for path in root.glob("*/date=*/*.parquet"):
        mtime = path.stat().st_mtime
        if mtime > since:
            day = path.parent.name.split("=", 1)[1]
            changes[day] = max(changes.get(day, 0.0), mtime)
    return changes


def read_landed(data_dir: Path, table: str, days: list[str]) -> pa.Table:
    """Canonical rows landed for ``days``; the latest batch wins per (date, trader)."""
    schema = TABLES[table]
    per_day = [landed_files(data_dir, table, d) for d in days]
    paths = [str(p) for files in per_day for p in files]
    if not paths:
        return schema.arrow.empty_table()
    if all(len(files) <= 1 for files in per_day):  # one batch per date: nothing to supersede
        return pa.concat_tables(pq.read_table(p, columns=schema.names) for p in paths).cast(schema.arrow)
    con = duckdb.connect()
    rel = con.sql(
        "SELECT * FROM read_parquet($paths, union_by_name = true) "
        "QUALIFY landed_at = max(landed_at) OVER (PARTITION BY trade_date, trader_id)",
        params={"paths": paths})
    return rel.to_arrow_table().select(schema.names).cast(schema.arrow)
