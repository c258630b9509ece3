"""Compute resources: where the per-trader training of ``trader_models`` runs.

One interface, one class per backend (the shape of project_ml's ``ModelStoreResource``): a local
process pool (the default) or a Dask ``distributed`` cluster. Both give the fleet code a
``models.compute.Pool``; the training code and its results are the same on either.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

import dagster as dg

from risk_dagster.models.compute import Pool, dask_pool, local_pool


class ComputeResource(dg.ConfigurableResource, ABC):
    """tasks_per_slot: tasks per parallel slot (more tasks balance uneven traders better; each
    task reads the lake once for its traders)."""

    tasks_per_slot: int = 1

    @abstractmethod
    def pool(self) -> AbstractContextManager[Pool]:
        """A context manager giving the pool; the pool is closed when it exits."""


class LocalPoolCompute(ComputeResource):
    """workers: processes on this machine training traders in parallel (1: in the run's own
    process)."""

    workers: int = 2

    def pool(self) -> AbstractContextManager[Pool]:
        return local_pool(self.workers)


class DaskCompute(ComputeResource):
    """scheduler_address: a running Dask scheduler (``tcp://host:8786``), e.g. one started by
    dask-kubernetes, dask-jobqueue or ``dask scheduler``; its workers need this package
    installed and the data directory mounted at the same path. min_slots: slots assumed when
    fewer worker threads are connected (an adaptive cluster scales up once tasks arrive)."""

    scheduler_address: str
    tasks_per_slot: int = 2
    min_slots: int = 1

    def pool(self) -> AbstractContextManager[Pool]:
        return dask_pool(self.scheduler_address, self.min_slots)
