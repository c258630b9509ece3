"""Progress of long CLI work (``risk-dagster demo``, ``ingest``, ``replay``) on the terminal.

One line per task: done / total in its unit (dates, traders, steps), elapsed time and, for
tasks of like units (not steps, which differ in length), the ETA from the rate so far. On a
terminal the lines are live rich progress bars; elsewhere (a log file, CI) a task prints a plain
line when it starts, at most every ``every_s`` seconds while it runs, and when it finishes.
``quiet=True`` prints nothing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn,
                           TimeElapsedColumn)

NO_ETA_UNITS = ("steps",)  # steps of a job take very different times: no rate-based ETA


def _seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


@dataclass
class _Task:
    started: float
    done: int = 0
    total: int = 0
    unit: str = ""
    note: str = ""
    printed: float | None = None  # when its last plain line was printed
    printed_done: int = -1  # the count that line showed
    rich_id: TaskID | None = None

    def eta(self, now: float) -> float | None:
        if self.unit in NO_ETA_UNITS or not 0 < self.done < self.total:
            return None
        return (now - self.started) / self.done * (self.total - self.done)


class ProgressDisplay:
    """Shows tasks' progress; use as a context manager. ``update`` may be called from the
    thread running the work (it is what the Dagster event listener and core.progress call)."""

    def __init__(self, quiet: bool = False, console: Console | None = None,
                 every_s: float = 10.0, clock=time.monotonic):
        self.quiet = quiet
        self.console = console or Console(file=sys.stdout)
        self.every_s = every_s
        self.clock = clock
        self.tasks: dict[str, _Task] = {}
        self._live: Progress | None = None

    def __enter__(self) -> ProgressDisplay:
        if not self.quiet and self.console.is_terminal:
            self._live = Progress(
                TextColumn("{task.description:<34}"), BarColumn(bar_width=24),
                MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
                TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                TextColumn("{task.fields[note]}"), console=self.console)
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self, task: str) -> str:
        """The plain-text line of ``task``, e.g. ``risk_scores  12/250 dates  0:03 elapsed,
        ETA 1:02``."""
        t, now = self.tasks[task], self.clock()
        eta = t.eta(now)
        return (f"  {task:<34} {t.done:>{len(str(t.total))}}/{t.total} {t.unit}  "
                f"{_seconds(now - t.started)} elapsed"
                + (f", ETA {_seconds(eta)}" if eta is not None else "")
                + (f"  {t.note}" if t.note else ""))

    def update(self, task: str, done: int, total: int, unit: str, note: str = "") -> None:
        """``task`` has done ``done`` of ``total`` ``unit`` (``note``: e.g. the current step)."""
        if self.quiet:
            return
        now = self.clock()
        t = self.tasks.get(task)
        if t is None or done < t.done:  # a new task, or the same name started again
            t = self.tasks[task] = _Task(started=now)
        t.done, t.total, t.unit, t.note = done, total, unit, note
        if self._live is not None:
            eta = t.eta(now)
            fields = {"unit": unit, "note": note, "eta": f"ETA {_seconds(eta)}" if eta else ""}
            if t.rich_id is None:
                t.rich_id = self._live.add_task(task, total=total, completed=done, **fields)
            else:
                self._live.update(t.rich_id, total=total, completed=done, **fields)
            return
        due = (t.printed is None or (done >= total and t.printed_done != done)
               or now - t.printed >= self.every_s)
        if due:
            self.console.print(self.line(task), markup=False, highlight=False, soft_wrap=True)
            t.printed, t.printed_done = now, done

    def print(self, text: str) -> None:
        """A line of output that is not progress (shown unless quiet)."""
        if not self.quiet:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
