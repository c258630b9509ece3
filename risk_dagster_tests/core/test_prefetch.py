"""prefetched: a source's chunks in order, at most one read ahead, errors where they happen."""

from __future__ import annotations

import threading

import pytest

from risk_dagster.core.prefetch import prefetched


def _source(n: int, produced: list[int], fail_at: int | None = None):
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"chunk {i} unreadable")
        produced.append(i)
        yield i


def test_every_chunk_in_order_read_on_another_thread():
    threads = []

    def source():
        for i in range(5):
            threads.append(threading.get_ident())
            yield i

    assert list(prefetched(source())) == [0, 1, 2, 3, 4]
    assert threading.get_ident() not in threads


def test_at_most_one_chunk_is_read_ahead():
    produced: list[int] = []
    chunks = prefetched(_source(10, produced))
    seen = []
    for item in chunks:
        seen.append(item)
        assert len(produced) <= len(seen) + 1
        if item == 3:
            break
    chunks.close()
    assert seen == [0, 1, 2, 3]
    assert produced in ([0, 1, 2, 3], [0, 1, 2, 3, 4])


def test_a_failing_read_raises_after_the_chunks_before_it():
    seen = []
    with pytest.raises(RuntimeError, match="chunk 2 unreadable"):
        for item in prefetched(_source(5, [], fail_at=2)):
            seen.append(item)
    assert seen == [0, 1]


def test_warm_runs_once_before_the_first_item_is_given():
    calls: list[str] = []
    items = prefetched(iter([1, 2]), warm=lambda: calls.append("warm"))
    assert calls == []  # nothing starts before the first item is asked for
    assert next(items) == 1 and calls == ["warm"]
    assert list(items) == [2] and calls == ["warm"]
