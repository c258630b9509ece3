"""The replay's progress file: what has been done, so a killed replay resumes where it stopped.

``<data>/replay/progress.json`` holds the replay's parameters, the last completed morning tick,
the drift sensor's cursor, the run keys already launched (the daemon's de-duplication) and the
event log (mornings, skips, alarms, retrains, models trained). It is rewritten atomically (temp
file, then rename) after each completed session, so it always describes a finished session.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPLAY_DIR = "replay"
PROGRESS_FILE = "progress.json"


@dataclass
class ReplayProgress:
    """params: the replay's parameters (a resumed replay must match them); last_tick: ISO
    timestamp of the last completed morning; history_done / initial_training_done: the set-up
    steps; sensor_cursor: drift_retrain_sensor's cursor; run_keys: keys already launched;
    events: dicts with ``kind`` (morning, skipped, weekly_retrain, drift_retrain, model, ...)."""

    params: dict
    last_tick: str | None = None
    history_done: bool = False
    initial_training_done: bool = False
    sensor_cursor: str | None = None
    run_keys: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    @staticmethod
    def path(data_dir: str | os.PathLike[str]) -> Path:
        return Path(data_dir) / REPLAY_DIR / PROGRESS_FILE

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str], params: dict) -> ReplayProgress:
        """The stored progress for ``params``, or a fresh one. Raises ValueError when the data
        directory holds a replay with other parameters (resuming it would mix two replays)."""
        path = cls.path(data_dir)
        if not path.exists():
            return cls(params=dict(params))
        stored = json.loads(path.read_text())
        if stored.get("params") != params:
            raise ValueError(f"{path} holds a replay with other parameters "
                             f"({stored.get('params')}); use another data directory")
        return cls(**stored)

    def save(self, data_dir: str | os.PathLike[str]) -> Path:
        path = self.path(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{PROGRESS_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_text(json.dumps(asdict(self), indent=1, default=str))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path
