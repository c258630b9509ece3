"""The simulated firm is computed once per process (a replay asks for one more day each morning)
and gives the same rows as simulating it afresh; past its memory bound it simulates again."""

import datetime as dt

import pyarrow as pa

from risk_dagster.ingest import sources
from risk_dagster.ingest.sources import SimulationCache, SimulatorSource
from risk_dagster.simulator import SimulationConfig, iter_simulation

CONFIG = SimulationConfig(n_traders=3, start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 28), seed=3)


def _fresh(dates):
    """The rows of ``dates`` from a simulation that shares nothing with the cache."""
    totals = pa.concat_tables([b.totals for b in iter_simulation(CONFIG, 20)])
    keep = [d in set(dates) for d in totals["trade_date"].to_pylist()]
    return totals.filter(pa.array(keep)).to_pandas()


def _totals(source, dates):
    return pa.concat_tables([b.totals for b in source.iter_batches(dates)]).to_pandas()


def test_the_cached_firm_gives_the_rows_of_a_fresh_simulation_and_simulates_once(monkeypatch):
    monkeypatch.setattr(sources, "_sim_cache", None)
    source = SimulatorSource(CONFIG)
    days = [dt.date(2024, 1, 2), dt.date(2024, 2, 15), dt.date(2024, 3, 28)]
    first = _totals(source, days[:1])
    cache = sources._sim_cache
    assert len(cache.batches) == 2  # 20 sessions, and the next 20 that show they are past it
    assert first.equals(_fresh(days[:1])) and len(first) > 0
    later = _totals(source, days)
    assert len(cache.batches) == 4  # 61 sessions, 20 a batch
    assert later.equals(_fresh(days))
    assert sources._sim_cache is cache  # the same firm: the same cache
    assert _totals(source, days).equals(later)
    assert len(cache.batches) == 4 and not cache.disabled


def test_past_its_memory_bound_the_cache_keeps_nothing_and_still_gives_every_row():
    cache = SimulationCache(CONFIG, 20, max_bytes=1)
    batches = list(cache)
    assert cache.disabled and cache.batches == []
    fresh = list(iter_simulation(CONFIG, 20))
    assert len(batches) == len(fresh) == 4
    for got, want in zip(batches, fresh, strict=True):
        assert got.fills.equals(want.fills) and got.totals.equals(want.totals)
    assert [b.totals.num_rows for b in cache] == [b.totals.num_rows for b in fresh]
