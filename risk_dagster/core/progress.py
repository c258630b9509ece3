"""Progress of long loops, told to whoever listens (the CLI's display); nothing happens when
no one listens (e.g. in runs launched from the UI, whose steps run in other processes).

A loop reports ``(task, done, total, unit)``: ``for day in track(dates, "risk_scores", "dates")``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

Listener = Callable[[str, int, int, str], None]
T = TypeVar("T")

_listeners: list[Listener] = []
_lock = threading.Lock()


def report(task: str, done: int, total: int, unit: str) -> None:
    """Tell every listener that ``task`` has done ``done`` of ``total`` ``unit``."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(task, done, total, unit)


def track(items: Iterable[T], task: str, unit: str) -> Iterator[T]:
    """Yield ``items``, reporting 0/n first and i/n after the i-th item is done."""
    items = list(items)
    report(task, 0, len(items), unit)
    for i, item in enumerate(items, start=1):
        yield item
        report(task, i, len(items), unit)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener(task, done, total, unit)`` on every report inside the block."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
