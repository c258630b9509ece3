"""Where reports are filed: ``<data>/reports/<kind>/<as-of date>_<run>/``, never overwritten.

A report folder is named by the as-of date of the data it describes (not the wall-clock date)
and the run that wrote it, so a re-run or a one-trader retrain writes a folder of its own and
earlier reports are kept. ``latest.json`` in ``<data>/reports/<kind>/`` names the newest folder
(relative to the data directory).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path

REPORTS_DIR = "reports"
LATEST = "latest.json"
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RUN = re.compile(r"^[A-Za-z0-9-]{1,64}$")
RUN_CHARS = 8  # a run id's first 8 characters, as the Dagster UI shows it


def report_dir(data_dir: str | os.PathLike[str], kind: str, as_of: dt.date, run_id: str) -> Path:
    """``<data>/reports/<kind>/<as_of>_<run_id[:8]>`` (not created). ``kind`` is a lower-case
    name (``model_evaluation``), ``run_id`` a Dagster run id; both are checked before they
    become a path."""
    if not _KIND.match(kind):
        raise ValueError(f"report kind {kind!r} must be lower-case letters, digits and _")
    if not _RUN.match(run_id):
        raise ValueError(f"run id {run_id!r} must be letters, digits and -")
    return Path(data_dir) / REPORTS_DIR / kind / f"{as_of.isoformat()}_{run_id[:RUN_CHARS]}"


def write_latest(data_dir: str | os.PathLike[str], kind: str, folder: Path, *, as_of: dt.date,
                 run_id: str) -> Path:
    """Point ``<data>/reports/<kind>/latest.json`` at ``folder`` (stored relative to the data
    directory), atomically. Returns the pointer's path."""
    root = Path(data_dir).resolve()
    relative = Path(folder).resolve().relative_to(root)  # raises if outside the data directory
    pointer = root / REPORTS_DIR / kind / LATEST
    pointer.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"folder": relative.as_posix(), "as_of": as_of.isoformat(),
                       "run_id": run_id}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=pointer.parent, prefix=".latest-", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, pointer)
    return pointer


def latest_dir(data_dir: str | os.PathLike[str], kind: str) -> Path | None:
    """The folder ``latest.json`` names (absolute), or None before the first report."""
    pointer = Path(data_dir) / REPORTS_DIR / kind / LATEST
    if not pointer.exists():
        return None
    return Path(data_dir) / json.loads(pointer.read_text())["folder"]
