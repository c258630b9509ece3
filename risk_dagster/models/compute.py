"""Where the per-trader training runs: this process, a local process pool, or a Dask cluster.

One interface for all three: a ``Pool`` holds a ``concurrent.futures``-style executor (``submit``
returning futures with ``result()``; ``None`` means run in this process) and the number of tasks
it runs at once. ``ProcessPoolExecutor`` is one; ``distributed.Client.get_executor()`` is another,
so the fleet code that fans out knows nothing of which backend it got. Tasks receive paths and
configs (small, pickled over the wire) and read their own rows from the lake; models travel back
only as the summaries the tasks return, and are stored as LightGBM text + JSON by the task.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

_kept: dict[int, ProcessPoolExecutor] | None = None  # workers -> pool, inside kept_local_pools
_kept_cache_bytes = 0
_worker_cache = ExitStack()  # a kept pool's worker: its partition cache, for its lifetime


def peak_rss_mb() -> float | None:
    """Peak resident memory of the calling process so far (MB, Linux ``VmHWM``; None where
    /proc is absent). Unlike ``ru_maxrss`` it is not inherited from a spawned worker's
    pre-exec fork of its parent."""
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@dataclass(frozen=True)
class Pool:
    """executor: ``submit(fn, *args)`` -> future, or None (run in the calling process);
    slots: tasks running at once (worker processes, or the cluster's worker threads);
    name: what the pool is, for run metadata."""

    executor: Executor | None
    slots: int
    name: str


@contextmanager
def local_pool(workers: int) -> Iterator[Pool]:
    """``workers`` spawned processes (``workers <= 1``: the calling process itself)."""
    if workers <= 1:
        yield Pool(None, 1, "in-process")
        return
    if _kept is not None:  # inside kept_local_pools: one pool of each size, not closed here
        if workers not in _kept or getattr(_kept[workers], "_broken", False):  # a worker died
            _kept[workers] = ProcessPoolExecutor(
                max_workers=workers, mp_context=mp.get_context("spawn"),
                initializer=_keep_lake_files, initargs=(_kept_cache_bytes,))
        yield Pool(_kept[workers], workers, f"local pool of {workers} processes (kept)")
        return
    # spawn, not fork: the parent may be a threaded Dagster process
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        yield Pool(pool, workers, f"local pool of {workers} processes")


@contextmanager
def kept_local_pools(cache_bytes: int) -> Iterator[None]:
    """Within the block, ``local_pool`` hands out one pool per worker count, kept from call to
    call and closed at the end, and its workers keep lake files parsed while they are unchanged
    (``core.lake.partition_cache`` of ``cache_bytes`` in each worker). For a process that runs
    many runs in a row (the replay): each weekly training otherwise spawned two fresh workers
    (~3.5 s of imports each) that parsed the whole feature and label history again (~3.5 s),
    of which a week changed a few partitions. The tasks and their results are the same."""
    global _kept, _kept_cache_bytes
    previous, _kept = _kept, {}
    previous_bytes, _kept_cache_bytes = _kept_cache_bytes, cache_bytes
    try:
        yield
    finally:
        pools, _kept, _kept_cache_bytes = _kept, previous, previous_bytes
        for pool in pools.values():
            pool.shutdown()


def _keep_lake_files(cache_bytes: int) -> None:
    """A kept pool's worker initializer: a partition cache for the worker's lifetime."""
    from risk_dagster.core.lake import partition_cache

    _worker_cache.enter_context(partition_cache(cache_bytes))


@contextmanager
def dask_pool(scheduler_address: str, min_slots: int = 1) -> Iterator[Pool]:
    """A client of the Dask ``distributed`` scheduler at ``scheduler_address``
    (``tcp://host:8786``). Its workers must import this package and see the data directory at
    the same path. slots: the worker threads connected now, at least ``min_slots`` (an
    adaptive cluster may start with none)."""
    from distributed import Client

    with Client(scheduler_address, set_as_default=False) as client:
        threads = sum(client.nthreads().values())
        # pure=False: a task writes to the lake; never reuse an earlier identical task's result
        executor = client.get_executor(pure=False)
        yield Pool(executor, max(min_slots, threads),
                   f"dask cluster {scheduler_address} ({threads} worker threads)")
