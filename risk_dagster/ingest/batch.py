"""Land a batch of export files given on the command line (``risk-dagster ingest F…``).

Everything that can refuse the whole batch is checked before anything lands: every path must be
a file, the source (``propreports``, a preset name or a mapping YAML path) must load, and so
must the firm's contracts file when one is given (``--contracts`` / ``RISK_CONTRACTS``). A
mapping given by path is copied to ``<data>/mappings/<name>.yaml`` under its ``name`` (so the
inbox sensor reads later drops of that source the same way), and the inbox, landing, archive and
rejected folders take that name, never the path: nothing is written outside the data directory.
Then each file is landed or rejected on its own (see ``inbox.process_inbox_file``), and the
outcome of every file is said.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from risk_dagster.ingest.contracts import read_contracts
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.inbox import INBOX, MAPPINGS, InboxResult, process_inbox_file
from risk_dagster.ingest.mapping import is_mapping_path, load_mapping
from risk_dagster.ingest.propreports import SOURCE as PROPREPORTS
from risk_dagster.ingest.reader import check_input_path


@dataclass
class BatchOutcome:
    """What a batch gave: ``refused`` (nothing landed, exit 2), the per-file results, and the
    dates landed (YYYY-MM-DD)."""

    source: str = ""
    refused: list[str] = field(default_factory=list)
    results: list[InboxResult] = field(default_factory=list)
    dates: set[str] = field(default_factory=set)

    @property
    def rejected(self) -> list[InboxResult]:
        return [r for r in self.results if r.status == "rejected"]


def resolve_source(data_dir: Path, source: str) -> str:
    """The source name for ``source``; a mapping YAML path is loaded (errors name its line) and
    installed as ``<data>/mappings/<name>.yaml``, with the contracts file it names (relative to
    it) as ``<name>.contracts.yaml`` beside it, the installed mapping pointing there. Raises
    IngestError (a broken or missing contracts file too)."""
    if source == PROPREPORTS:
        return PROPREPORTS
    mapping = load_mapping(source)
    if mapping.contracts_file is not None:
        read_contracts(mapping.contracts_file)
    if is_mapping_path(source) or Path(source).is_file():
        folder = Path(data_dir) / MAPPINGS
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{mapping.name}.yaml"
        if mapping.path is None or mapping.path.resolve() != target.resolve():
            text = mapping.path.read_text(encoding="utf-8")
            if mapping.contracts_file is not None:
                installed = f"{mapping.name}.contracts.yaml"
                _install(folder / installed, mapping.contracts_file.read_bytes())
                # the same line, so that errors still name the user's line numbers
                text = _CONTRACTS_KEY.sub(f"contracts: {installed}", text, count=1)
            _install(target, text.encode("utf-8"))
    return mapping.name


_CONTRACTS_KEY = re.compile(r"^contracts:[^\n]*$", re.MULTILINE)


def _install(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def land_files(data_dir: Path, files: list[Path], source: str, *, calendar: str,
               account: str | None = None, replace: bool = False, skip_bad_rows: int = 0,
               first_date: dt.date | None = None, today: dt.date | None = None,
               contracts: str | Path | None = None,
               say: Callable[[str], None] = print) -> BatchOutcome:
    """Check the batch, then land each file (``say`` prints what happened to each).
    ``contracts``: the firm's futures contracts YAML, checked before anything lands."""
    data_dir = Path(data_dir)
    outcome = BatchOutcome()
    for path in files:
        try:
            check_input_path(path)
        except IngestError as exc:
            outcome.refused.append(str(exc))
    try:
        outcome.source = resolve_source(data_dir, source) if not outcome.refused else source
    except IngestError as exc:
        outcome.refused.append(f"--source: {exc}")
    if contracts is not None:
        try:
            read_contracts(contracts)
        except IngestError as exc:
            outcome.refused.append(f"--contracts: {exc}")
    if outcome.refused:
        for line in outcome.refused:
            say(f"REFUSED {line}")
        say(f"Nothing was ingested: {len(files)} file(s) left untouched; fix the above and run "
            "again.")
        return outcome
    inbox_dir = data_dir / INBOX / outcome.source
    inbox_dir.mkdir(parents=True, exist_ok=True)
    for path in files:
        dropped = inbox_dir / Path(path).name
        shutil.copyfile(path, dropped)
        result = process_inbox_file(dropped, outcome.source, data_dir, calendar=calendar,
                                    account=account, replace=replace,
                                    skip_bad_rows=skip_bad_rows, first_date=first_date,
                                    today=today, contracts=contracts)
        outcome.results.append(result)
        if result.status == "rejected":
            say(f"REJECTED {path}: {result.error}\n  kept at {result.moved_to} (reason in "
                f"{result.moved_to.name}.error.txt)")
            continue
        outcome.dates.update(result.dates)
        extra = "".join([f", {result.duplicates} duplicate(s) dropped" if result.duplicates else "",
                         f", {result.bad_rows} bad row(s) skipped" if result.bad_rows else ""])
        say(f"landed {path}: {result.rows} {result.kind} rows, {len(result.dates)} dates{extra}")
        for warning in result.warnings:
            say(f"  warning: {warning}")
    n_bad = len(outcome.rejected)
    say(f"{len(files) - n_bad} of {len(files)} file(s) landed"
        + (f"; {n_bad} rejected (kept in {data_dir / 'rejected' / outcome.source})" if n_bad
           else ""))
    return outcome
