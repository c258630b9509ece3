"""Read ahead on a background thread while the caller works on the current item."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

_END = object()


def prefetched(items: Iterable, warm: Callable[[], object] | None = None) -> Iterator:
    """The items of ``items`` in order, the next one fetched on a background thread while the
    caller works on the current one (or, before the first, runs ``warm``): reading a chunk of
    landed Parquet or a block of a CSV (Arrow releases the GIL) then overlaps with checking the
    previous one. At most one item is fetched ahead; close the iterator (``contextlib.closing``)
    to wait for that fetch when the caller stops early."""
    source = iter(items)
    with ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(next, source, _END)
        if warm is not None:
            warm()
        while (item := ahead.result()) is not _END:
            ahead = pool.submit(next, source, _END)
            yield item
