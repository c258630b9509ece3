"""The drop folder and the landing zone.

Files dropped in ``<data>/inbox/<source>/`` (``source`` is ``propreports`` or a column-mapping
preset such as ``hyperliquid``) are parsed into canonical tables and *landed*:
``<data>/landing/<table>/date=YYYY-MM-DD/<source>-<batch>.parquet``, one file per source file
and date. A source with its own column mapping keeps it in ``<data>/mappings/<source>.yaml``. A batch id is the hash of the file's bytes, so dropping the same file twice replaces
its landing files instead of doubling its rows. The processed file moves to
``<data>/archive/<source>/``; a file that fails to parse moves to ``<data>/rejected/<source>/``
with ``<name>.error.txt`` beside it, and nothing already landed or stored changes.

Landing is atomic per file: its date files are written under ``landing/.staging/`` and renamed
into place while ``landing/_batches/<source>-<batch>.pending`` says the batch is incomplete;
readers ignore a pending batch, and the next landing (under ``landing/.lock``) removes what a
dead run left (its published files and its staging directory).

The merge rule for fills (``raw_fills`` of a date reads every landed batch of that date):
fills are identified by their fill id (the source's, or a content hash). Files of one day are
merged by id: a fill already landed with the same content is dropped from the new file and
counted in its warnings; the same id with other content is an error; a fill id landed on another
date is an error (ids are unique across the landing zone). A file that shares fill ids with a
trader-day already landed but lacks some of its stored fills is a re-export that would lose them:
it is refused unless ``replace`` is given, and then it becomes the only source of the trader-days
it holds. Totals: per (date, trader) the latest landed batch wins.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from risk_dagster.core.calendar import calendar_timezone
from risk_dagster.core.lake import fast_write_options, write_parquet_atomic
from risk_dagster.core.schemas import FILLS, TOTALS
from risk_dagster.ingest.errors import IngestError

INBOX, LANDING, ARCHIVE, REJECTED, MAPPINGS = "inbox", "landing", "archive", "rejected", "mappings"
TABLES = {"fills": FILLS, "totals": TOTALS}
STAGING, BATCHES = ".staging", "_batches"
# the columns two landings of one fill id must agree on
CONTENT = ["trade_date", "ts", "trader_id", "symbol", "side", "short_sale", "qty", "price", "fees",
           "liquidity", "route", "order_id"]


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
    duplicates: int = 0  # fills already landed with the same content, dropped
    bad_rows: int = 0  # rows skipped under --skip-bad-rows (kept in rejected/)
    bad_rows_file: Path | None = None


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
    """Move ``path`` into ``folder`` under its own name, or a unique one if that is taken; an
    archived or rejected file is never overwritten, even by a process moving a file of the same
    name at the same moment: the name is claimed by a hard link, which fails if it exists."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    while True:
        try:
            os.link(path, target)
        except FileExistsError:
            target = _unique_name(folder, path)
            continue
        except OSError:  # no hard links on this file system: a name no one else can pick
            target = _unique_name(folder, path)
            shutil.move(str(path), target)
            return target
        path.unlink()
        return target


def _unique_name(folder: Path, path: Path) -> Path:
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return folder / f"{path.stem}.{stamp}{path.suffix}"


def land(data_dir: Path, table: str, source: str, batch_id: str, frame: pd.DataFrame, *,
         replace: bool = False, origin: str = "", notes: dict | None = None) -> list[str]:
    """Write ``frame`` (canonical ``table``) to the landing zone, one file per date, atomically:
    staged first, then renamed into place under a pending marker removed last.

    ``replace``: the batch supersedes earlier batches for the (date, trader) pairs it holds.
    ``origin``: the source file's name, for messages; ``notes``: counts kept in the batch's
    marker (bad rows skipped, duplicates dropped). Returns the dates (YYYY-MM-DD) landed.
    """
    schema = TABLES[table]
    root = Path(data_dir) / LANDING
    name = f"{source}-{batch_id}"
    landed_at = pd.Timestamp.now(tz="UTC")
    stage = root / STAGING / f"{name}-{uuid.uuid4().hex[:8]}"
    marks = root / BATCHES
    marks.mkdir(parents=True, exist_ok=True)
    pending = marks / f"{name}.pending"
    # one conversion to Arrow, sorted by date, then zero-copy slices per date (a pandas groupby
    # converting each date's part on its own costs ~10x more on a 2M-row file)
    arrow = frame if isinstance(frame, pa.Table) else schema.to_arrow(frame)
    arrow = arrow.select(schema.names).cast(schema.arrow)
    arrow = arrow.take(pc.sort_indices(arrow, [("trade_date", "ascending")]))
    n = arrow.num_rows
    if n == 0:
        return []
    arrow = arrow.append_column(
        "landed_at", pa.array(np.full(n, landed_at.value // 1000, dtype="int64"),
                              pa.timestamp("us", tz="UTC"))).append_column(
        "replaces", pa.array(np.full(n, replace), pa.bool_()))
    days = arrow["trade_date"].to_numpy(zero_copy_only=False).astype("datetime64[D]")
    cuts = np.flatnonzero(np.r_[True, days[1:] != days[:-1], True])
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        key = str(days[a])
        parts.append((key, arrow.slice(int(a), int(b - a))))
    with ThreadPoolExecutor(2) as pool:  # Parquet encoding releases the GIL
        options = fast_write_options(arrow.schema)
        tmps = list(pool.map(lambda kp: write_parquet_atomic(
            stage / table / f"date={kp[0]}" / f"{name}.parquet", kp[1], **options), parts))
    staged = [(tmp, root / table / f"date={key}" / f"{name}.parquet")
              for tmp, (key, _) in zip(tmps, parts, strict=True)]
    dates = [key for key, _ in parts]
    _write_json(pending, {"targets": [str(t.relative_to(root)) for _, t in staged]})
    for tmp, target in staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    _write_json(marks / f"{name}.json", {"origin": origin, "table": table, "dates": dates,
                                         "rows": int(len(frame)), "replace": replace,
                                         "landed_at": landed_at.isoformat(), **(notes or {})})
    pending.unlink()
    shutil.rmtree(stage, ignore_errors=True)
    return dates


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


class landing_lock:
    """Exclusive lock of the landing zone (one landing at a time, so the merge checks see every
    batch landed before, and leftovers found under it belong to dead runs)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LANDING / ".lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a+")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def clean_landing(data_dir: Path) -> list[str]:
    """Remove what dead landings left: files of pending batches and staging directories.
    Call it holding :class:`landing_lock`. Returns the batch names cleaned."""
    root = Path(data_dir) / LANDING
    cleaned = []
    for pending in sorted((root / BATCHES).glob("*.pending")):
        try:
            targets = json.loads(pending.read_text()).get("targets", [])
        except (OSError, ValueError):
            targets = []
        for rel in targets:
            (root / rel).unlink(missing_ok=True)
        pending.unlink(missing_ok=True)
        cleaned.append(pending.stem)
    shutil.rmtree(root / STAGING, ignore_errors=True)
    return cleaned


def landing_summary(data_dir: Path, days: list[str]) -> dict[str, int]:
    """Over the landed batches touching ``days`` (YYYY-MM-DD): how many files, how many bad rows
    were skipped (``--skip-bad-rows``) and how many duplicate fills were dropped."""
    folder = Path(data_dir) / LANDING / BATCHES
    wanted, out = set(days), {"landed_files": 0, "bad_rows_skipped": 0, "duplicates_dropped": 0}
    for mark in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            info = json.loads(mark.read_text())
        except (OSError, ValueError):
            continue
        if wanted & set(info.get("dates", [])):
            out["landed_files"] += 1
            out["bad_rows_skipped"] += int(info.get("bad_rows", 0))
            out["duplicates_dropped"] += int(info.get("duplicates", 0))
    return out


def _pending_batches(data_dir: Path) -> set[str]:
    folder = Path(data_dir) / LANDING / BATCHES
    return {p.stem for p in folder.glob("*.pending")} if folder.exists() else set()


def batch_origin(data_dir: Path, batch: str) -> str:
    """The source file name a landed batch came from ("" when unknown)."""
    try:
        return json.loads((Path(data_dir) / LANDING / BATCHES / f"{batch}.json").read_text())[
            "origin"] or batch
    except (OSError, ValueError, KeyError):
        return batch


def process_inbox_file(path: Path, source: str, data_dir: Path, *, calendar: str,
                       parse=None, account: str | None = None, replace: bool = False,
                       skip_bad_rows: int = 0, first_date: dt.date | None = None,
                       today: dt.date | None = None,
                       contracts: str | Path | None = None) -> InboxResult:
    """Parse, check, land and archive one dropped file; on any error reject it with an error file.

    ``account``: the trader of an export that carries none. ``replace``: the file supersedes the
    trader-days it holds (see the merge rule above). ``skip_bad_rows``: land the good rows of a
    file with up to that many bad rows (they go to ``rejected/`` with their reasons); 0 is
    all-or-nothing. ``first_date``/``today``: the date partitions' span; rows outside it refuse
    the file, naming the dates (nothing is dropped silently). ``contracts``: the firm's futures
    contracts YAML (a mapping's own ``contracts:`` file wins over it).
    """
    from risk_dagster.ingest import parse_file  # the parsers' dispatch

    path, data_dir = Path(path), Path(data_dir)
    custom = data_dir / MAPPINGS / f"{source}.yaml"  # a user's own column mapping
    spec = str(custom) if custom.exists() else source
    if parse is None:  # a plain fills CSV streams in blocks; anything else is read whole
        streamed = _land_streamed(path, source, spec, data_dir, calendar=calendar,
                                  account=account, replace=replace, first_date=first_date,
                                  today=today, contracts=contracts)
        if streamed is not None:
            return streamed
    parse = parse or parse_file
    bad: list[IngestError] = []
    try:
        batch_id = file_batch_id(path)
        parsed, bad = _parse_skipping(parse, path, spec, calendar, account, skip_bad_rows,
                                      contracts)
        frame = parsed.fills if parsed.kind == "fills" else parsed.totals
        check_landing_dates(path, frame, parsed.lines, calendar, first_date, today)
        with landing_lock(data_dir):
            clean_landing(data_dir)
            duplicates = 0
            if parsed.kind == "fills":
                frame, duplicates = merge_fills(data_dir, source, batch_id, path.name, frame,
                                                parsed.lines, replace=replace)
            dates = land(data_dir, parsed.kind, source, batch_id, frame, replace=replace,
                         origin=path.name, notes={"bad_rows": len(bad),
                                                  "duplicates": duplicates}) if len(frame) else []
    except Exception as exc:  # noqa: BLE001 - every failure must reject the file, not lose it
        moved = _move(path, data_dir / REJECTED / source)
        message = str(exc) if isinstance(exc, IngestError) else f"{type(exc).__name__}: {exc}"
        if bad:
            message += f"\n(and {len(bad)} bad row(s) before it: " + "; ".join(
                str(e) for e in bad[:5]) + ")"
        detail = "" if isinstance(exc, IngestError) else "\n\n" + traceback.format_exc()
        moved.with_name(moved.name + ".error.txt").write_text(
            f"{message}\n\nfile: {path.name}\nsource: {source}\n"
            f"rejected: {dt.datetime.now(dt.UTC).isoformat()}\n{detail}")
        return InboxResult(path, source, "rejected", moved, error=message)
    warnings = list(parsed.warnings)
    if duplicates:
        warnings.append(f"{path.name}: dropped {duplicates} fill(s) already landed with the same "
                        "content (merged by fill id)")
    bad_file = _keep_bad_rows(path, data_dir / REJECTED / source, bad) if bad else None
    if bad:
        warnings.append(f"{path.name}: skipped {len(bad)} bad row(s), kept in {bad_file.name}")
    moved = _move(path, data_dir / ARCHIVE / source)
    return InboxResult(path, source, "landed", moved, batch_id, dates, len(frame), parsed.kind,
                       warnings=warnings, duplicates=duplicates, bad_rows=len(bad),
                       bad_rows_file=bad_file)


def _land_streamed(path: Path, source: str, spec: str, data_dir: Path, *, calendar: str,
                   account: str | None, replace: bool, first_date: dt.date | None,
                   today: dt.date | None,
                   contracts: str | Path | None = None) -> InboxResult | None:
    """Land a fills CSV block by block (``stream``), memory bounded by the block size; None
    when it cannot (a totals file, an unusual shape, any error: the caller then reads the file
    whole, which words the refusal exactly). Nothing is landed unless every check passed."""
    from risk_dagster.ingest.dispatch import block_converter
    from risk_dagster.ingest.stream import Unstreamable, stage_blocks

    try:
        converter = block_converter(path, spec, calendar=calendar, account=account,
                                    contracts=contracts)
    except Exception:  # noqa: BLE001 - a missing file, a broken mapping: the whole-file path says
        return None
    if converter is None:
        return None
    convert, number_columns = converter
    root = data_dir / LANDING
    landed_at = pd.Timestamp.now(tz="UTC")
    extra = {"landed_at": pa.scalar(landed_at.value // 1000, pa.timestamp("us", tz="UTC")),
             "replaces": pa.scalar(replace, pa.bool_())}

    def check(table: pa.Table, lines: np.ndarray) -> None:
        check_landing_dates(path, table, lines, calendar, first_date, today)

    with landing_lock(data_dir):
        clean_landing(data_dir)
        stage = root / STAGING / f"stream-{uuid.uuid4().hex[:8]}"
        try:
            # the calendar (~0.4 s to build) while the first block is read
            staged = stage_blocks(path, convert, stage / "parts", extra=extra, check=check,
                                  warm=lambda: calendar_timezone(calendar),
                                  number_columns=number_columns)
            batch_id = staged["batch_id"]
            parts = [p for files in staged["parts"].values() for p in files]
            # ids repeated across blocks (each block checks its own): the whole-file reader
            # words it
            if staged["blocks"] > 1 and _repeated_fill_id(parts):
                raise Unstreamable("a fill id repeats")
            drop = merge_staged(data_dir, source, batch_id, path.name, parts, replace=replace)
        except Exception:  # noqa: BLE001 - Unstreamable, an error to word or anything else
            shutil.rmtree(stage, ignore_errors=True)  # before publishing: nothing landed
            return None
        duplicates = sum(len(v) for v in drop.values())
        dates = publish_staged(data_dir, source, batch_id, staged["parts"], stage, drop,
                               replace=replace, landed_at=landed_at, origin=path.name,
                               rows=staged["rows"] - duplicates,
                               notes={"bad_rows": 0, "duplicates": duplicates})
    warnings = list(staged["warnings"])
    if duplicates:
        warnings.append(f"{path.name}: dropped {duplicates} fill(s) already landed with the same "
                        "content (merged by fill id)")
    moved = _move(path, data_dir / ARCHIVE / source)
    return InboxResult(path, source, "landed", moved, batch_id, dates,
                       staged["rows"] - duplicates, "fills", warnings=warnings,
                       duplicates=duplicates)


def _repeated_fill_id(parts: list[Path]) -> bool:
    """True when a fill id may repeat across ``parts``: two ids of one 64-bit hash (a repeat,
    or once in ~10^12 files of 2M rows a collision: then the whole-file reader decides)."""
    con = duckdb.connect()
    try:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT hash(fill_id)) FROM "
                                  "read_parquet(?)", [[str(p) for p in parts]]).fetchone()
        return n != distinct
    finally:
        con.close()


def publish_staged(data_dir: Path, source: str, batch_id: str, parts: dict[str, list[Path]],
                   stage: Path, drop: dict[str, pa.Array], *, replace: bool,
                   landed_at: pd.Timestamp, origin: str, rows: int, notes: dict) -> list[str]:
    """Publish a file staged in Parquet parts per date as landing files, atomically as
    :func:`land` does (pending marker, renames, batch marker); ``drop``: fill ids per date left
    out. Call it holding :class:`landing_lock`. Returns the dates landed."""
    from risk_dagster.ingest.stream import combine_parts

    if rows == 0:
        shutil.rmtree(stage, ignore_errors=True)
        return []
    root = Path(data_dir) / LANDING
    name = f"{source}-{batch_id}"
    ready: dict[str, Path] = {}
    for key in sorted(parts):
        files = parts[key]
        if len(files) == 1 and key not in drop:
            ready[key] = files[0]
            continue
        out = stage / "combined" / f"date={key}.parquet"
        if combine_parts(files, out, drop.get(key)):
            ready[key] = out
    marks = root / BATCHES
    marks.mkdir(parents=True, exist_ok=True)
    pending = marks / f"{name}.pending"
    staged = [(tmp, root / "fills" / f"date={key}" / f"{name}.parquet") for key, tmp in ready.items()]
    _write_json(pending, {"targets": [str(t.relative_to(root)) for _, t in staged]})
    for tmp, target in staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    dates = list(ready)
    _write_json(marks / f"{name}.json", {"origin": origin, "table": "fills", "dates": dates,
                                         "rows": int(rows), "replace": replace,
                                         "landed_at": landed_at.isoformat(), **notes})
    pending.unlink()
    shutil.rmtree(stage, ignore_errors=True)
    return dates


def _parse_skipping(parse, path: Path, spec: str, calendar: str, account: str | None,
                    limit: int, contracts: str | Path | None = None):
    """Parse, leaving out up to ``limit`` bad lines (each error names one); more is an error."""
    skipped: list[IngestError] = []
    while True:
        kwargs = {"calendar": calendar}
        if account is not None:
            kwargs["account"] = account
        if contracts is not None:
            kwargs["contracts"] = contracts
        if skipped:
            kwargs["skip_lines"] = [e.row for e in skipped]
        try:
            return parse(path, spec, **kwargs), skipped
        except IngestError as exc:
            if limit <= 0 or exc.row is None or exc.row <= 1 or any(
                    e.row == exc.row for e in skipped):
                raise
            if len(skipped) >= limit:
                raise IngestError(exc.path, exc.row, exc.column,
                                  f"{exc.message} (more than --skip-bad-rows {limit} bad rows)") \
                    from None
            skipped.append(exc)


def _keep_bad_rows(path: Path, folder: Path, bad: list[IngestError]) -> Path:
    """``<name>.bad-rows.txt`` in rejected/: each skipped line, its text and its reason."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = {}
    if not path.read_bytes().startswith(b"PK"):
        wanted = {e.row for e in bad}
        with open(path, "rb") as fh:
            for no, line in enumerate(fh, start=1):
                if no in wanted:
                    lines[no] = line.decode("utf-8", errors="replace").rstrip("\r\n")
    out = folder / f"{path.name}.bad-rows.txt"
    if out.exists():
        out = folder / f"{path.name}.{uuid.uuid4().hex[:6]}.bad-rows.txt"
    out.write_text("".join(f"line {e.row}: {e}\n    {lines.get(e.row, '')}\n" for e in bad))
    return out


def check_landing_dates(path: Path, frame: pd.DataFrame, lines, calendar: str,
                        first_date: dt.date | None, today: dt.date | None) -> None:
    """Refuse a file with rows the date partitions cannot hold, naming the dates and a line:
    before ``first_date``, after ``today``, or (exchange calendars) on a day that is no session
    (a weekend file, or a 24/7 venue's file without ``--calendar 24/7``)."""
    from risk_dagster.core.calendar import sessions
    from risk_dagster.core.settings import CALENDAR_24_7

    if frame is None or len(frame) == 0:
        return
    if isinstance(frame, pa.Table):
        days = frame["trade_date"].to_numpy().astype("datetime64[D]")
        column = "Date" if "net_pnl" in frame.column_names else "time"
    else:
        days = pd.to_datetime(frame["trade_date"]).to_numpy().astype("datetime64[D]")
        column = "Date" if "net_pnl" in frame else "time"
    lines = np.arange(2, len(days) + 2) if lines is None else np.asarray(lines)

    def refuse(mask, message: str):
        i = int(np.flatnonzero(mask)[0])
        bad_days = [d.astype(object) for d in np.unique(days[mask])]
        shown = ", ".join(str(d) for d in bad_days[:5]) + (", ..." if len(bad_days) > 5 else "")
        raise IngestError(path, int(lines[i]), column,
                          f"{int(mask.sum())} row(s) dated {shown}: {message}")

    floor = dt.date(2000, 1, 1)
    old = days < np.datetime64(floor)
    if old.any():
        refuse(old, f"before {floor}, the earliest date the calendars cover (a typo in the year?)")
    if first_date is not None:
        early = days < np.datetime64(first_date)
        if early.any():
            refuse(early, f"before the first date partition {first_date}; set RISK_START_DATE="
                   f"{days[early].min()} (or earlier) and ingest again")
    today = today or dt.datetime.now(dt.UTC).date()
    late = days > np.datetime64(today)
    if late.any():
        refuse(late, f"in the future (today is {today})")
    if calendar != CALENDAR_24_7:
        uniq = np.unique(days)
        open_days = sessions(calendar, uniq[0].astype(object), uniq[-1].astype(object))
        closed = ~np.isin(days, np.asarray(open_days, dtype="datetime64[D]"))
        if closed.any():
            names = [f"{d} {d.strftime('%A')}" for d in
                     (x.astype(object) for x in np.unique(days[closed])[:3])]
            refuse(closed, f"not {calendar} sessions ({', '.join(names)}); a venue that trades "
                   "every day needs --calendar 24/7")


def merge_fills(data_dir: Path, source: str, batch_id: str, origin: str, frame: pd.DataFrame,
                lines, *, replace: bool) -> tuple[pd.DataFrame, int]:
    """Apply the merge rule (module docstring) to a new file's fills against the landing zone.

    Returns the fills to land (exact duplicates of landed fills removed) and how many were
    removed. Raises IngestError naming the new file's line for a conflict.
    """
    others = _other_landed(data_dir, f"{source}-{batch_id}")
    if not others or len(frame) == 0:
        return frame, 0
    lines = np.arange(2, len(frame) + 2) if lines is None else np.asarray(lines)
    new = FILLS.to_arrow(frame).append_column("line", pa.array(lines, pa.int64()))
    dup = _merge_checks(data_dir, others, origin, replace, lambda con: con.register("new", new))
    dropped = np.isin(lines, dup["line"])
    if not dropped.any():
        return frame, 0
    return frame.loc[~dropped].reset_index(drop=True), int(dropped.sum())


def merge_staged(data_dir: Path, source: str, batch_id: str, origin: str, parts: list[Path], *,
                 replace: bool) -> dict[str, pa.Array]:
    """The merge rule for a file staged in Parquet parts (``stream.stage_blocks``): the fill ids
    to drop per date (YYYY-MM-DD), exact duplicates of landed fills. Raises IngestError for a
    conflict (its line is unknown here: the caller reads the file whole for the message)."""
    others = _other_landed(data_dir, f"{source}-{batch_id}")
    if not others:
        return {}

    def register(con):
        con.read_parquet([str(p) for p in parts]).select(
            "*, NULL::BIGINT AS line").create_view("new")

    dup = _merge_checks(data_dir, others, origin, replace, register)
    days = dup["trade_date"].astype("datetime64[D]").astype(str)
    return {d: pa.array(dup["fill_id"][days == d], pa.string()) for d in np.unique(days)}


def _other_landed(data_dir: Path, name: str) -> list[str]:
    """Landed fills files of every complete batch but ``name``."""
    root = Path(data_dir) / LANDING / "fills"
    pending = _pending_batches(data_dir)
    return [str(p) for p in root.glob("date=*/*.parquet")
            if p.stem != name and p.stem not in pending] if root.exists() else []


def _merge_checks(data_dir: Path, others: list[str], origin: str, replace: bool,
                  register) -> dict[str, np.ndarray]:
    """The merge rule's checks of the view ``new`` (FILLS columns and ``line``, made by
    ``register(con)``) against the landed files ``others``; returns the line, fill id and
    date of each new fill already landed with the same content."""
    con = duckdb.connect()
    try:
        register(con)
        con.read_parquet(others, union_by_name=True, filename=True).create_view("old_files")
        con.execute("CREATE TEMP TABLE old AS SELECT *, regexp_extract(filename, "
                    "'([^/]+)\\.parquet$', 1) AS batch FROM old_files")
        # ids are unique across the landing zone: the same id on another date is an error
        hit = con.execute("SELECT n.fill_id, n.line, o.trade_date, o.batch FROM new n JOIN old o "
                      "USING (fill_id) WHERE o.trade_date <> n.trade_date ORDER BY n.line "
                      "LIMIT 1").fetchone()
        if hit:
            raise IngestError(origin, hit[1], "fill id", f"fill id {hit[0]!r} is already landed "
                              f"on {hit[2]} from {batch_origin(data_dir, hit[3])}: fill ids must "
                              "be unique across the lake")
        # Interpolated below: fixed SQL (_effective_fills_sql) and the fixed column names of
        # CONTENT, never a value from a file (those are in the registered views).
        live = _effective_fills_sql()
        con.execute(f"CREATE TEMP TABLE cur AS {live}")
        if replace:  # the file becomes the only source of its trader-days
            con.execute("DELETE FROM cur USING (SELECT DISTINCT trade_date, trader_id FROM new) k "
                        "WHERE cur.trade_date = k.trade_date AND cur.trader_id = k.trader_id")
        diff = " OR ".join(f"n.{c} IS DISTINCT FROM c.{c}" for c in CONTENT)
        clash = con.execute(f"SELECT n.fill_id, n.line, c.batch, {', '.join(f'n.{c}, c.{c}' for c in CONTENT)} "
                        f"FROM new n JOIN cur c USING (fill_id) WHERE {diff} ORDER BY n.line "
                        "LIMIT 1").fetchone()
        if clash:
            pairs = list(zip(CONTENT, clash[3::2], clash[4::2], strict=True))
            col, a, b = next((c, a, b) for c, a, b in pairs if a != b)
            raise IngestError(origin, clash[1], col, f"fill id {clash[0]!r} is already landed "
                              f"from {batch_origin(data_dir, clash[2])} with a different {col} "
                              f"({b!r} there, {a!r} here); give --replace if this file corrects it")
        lost = con.execute(
            "WITH shared AS (SELECT DISTINCT c.trade_date, c.trader_id, c.batch FROM cur c "
            "  JOIN new n USING (fill_id)), "
            "missing AS (SELECT c.trade_date, c.trader_id, c.batch, c.fill_id FROM cur c "
            "  JOIN shared s USING (trade_date, trader_id, batch) "
            "  ANTI JOIN new n USING (fill_id)) "
            "SELECT trade_date, trader_id, batch, count(*), min(fill_id) FROM missing "
            "GROUP BY ALL ORDER BY trade_date, trader_id LIMIT 1").fetchone()
        if lost:
            day, trader, batch, n, example = lost
            first = con.execute("SELECT min(line) FROM new WHERE trade_date = $d AND "
                                "trader_id = $t", {"d": day, "t": trader}).fetchone()[0]
            raise IngestError(origin, first, None, f"re-exports {trader} on {day} but lacks {n} "
                              f"fill(s) landed from {batch_origin(data_dir, batch)} (e.g. "
                              f"{example!r}): refused, so that no stored fill is lost; give "
                              "--replace to make this file the only source of that day")
        return con.execute("SELECT n.line, n.fill_id, n.trade_date FROM new n "
                           "SEMI JOIN cur c USING (fill_id)").fetchnumpy()
    finally:
        con.close()


def _effective_fills_sql(source: str = "old") -> str:
    """Landed fills that count: per (date, trader), only batches landed at or after the latest
    batch that replaced it; then one row per fill id (the latest landed)."""
    return (f"WITH a AS (SELECT * FROM {source}), "
            "cut AS (SELECT trade_date, trader_id, max(landed_at) AS since FROM a "
            "  WHERE coalesce(replaces, false) GROUP BY ALL) "
            "SELECT a.* FROM a LEFT JOIN cut USING (trade_date, trader_id) "
            "WHERE cut.since IS NULL OR a.landed_at >= cut.since "
            "QUALIFY row_number() OVER (PARTITION BY fill_id ORDER BY landed_at DESC) = 1")


def landed_files(data_dir: Path, table: str, day: str) -> list[Path]:
    """Landing files of ``table`` on ``day``, without batches still pending (incomplete)."""
    folder = Path(data_dir) / LANDING / table / f"date={day}"
    if not folder.exists():
        return []
    pending = _pending_batches(data_dir)
    return sorted(p for p in folder.glob("*.parquet") if p.stem not in pending)


def landing_changes(data_dir: Path, since: float) -> dict[str, float]:
    """Dates whose landing files changed after ``since`` (epoch s) -> latest change time."""
    root = Path(data_dir) / LANDING
    changes: dict[str, float] = {}
    if not root.exists():
        return changes
    pending = _pending_batches(data_dir)
    for path in root.glob("*/date=*/*.parquet"):
        if path.stem in pending:
            continue
        mtime = path.stat().st_mtime
        if mtime > since:
            day = path.parent.name.split("=", 1)[1]
            changes[day] = max(changes.get(day, 0.0), mtime)
    return changes


def read_landed(data_dir: Path, table: str, days: list[str]) -> pa.Table:
    """Canonical rows landed for ``days``: fills merged by fill id across batches (a replacing
    batch drops earlier ones of its trader-days); totals: the latest batch per (date, trader)."""
    schema = TABLES[table]
    per_day = [landed_files(data_dir, table, d) for d in days]
    paths = [str(p) for files in per_day for p in files]
    if not paths:
        return schema.arrow.empty_table()
    if all(len(files) <= 1 for files in per_day):  # one batch per date: nothing to merge
        return pa.concat_tables(pq.read_table(p, columns=schema.names) for p in paths).cast(schema.arrow)
    con = duckdb.connect()
    try:
        con.read_parquet(paths, union_by_name=True).create_view("landed")
        if table == "fills":
            rel = con.sql(_effective_fills_sql("landed") + " ORDER BY trade_date")
        else:
            rel = con.sql("SELECT * FROM landed QUALIFY landed_at = max(landed_at) OVER "
                          "(PARTITION BY trade_date, trader_id) ORDER BY trade_date")
        return rel.to_arrow_table().select(schema.names).cast(schema.arrow)
    finally:
        con.close()
