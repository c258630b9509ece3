"""Fixtures of the instance tests: a real PostgreSQL server, started once per session."""

import os
import warnings

import pytest

from risk_dagster_tests.instance.postgres_cluster import ClusterUnavailable, start_cluster


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL server (stopped and deleted at teardown).

    When it cannot start: in CI (``CI`` set) the tests fail, since CI installs the server; else
    they are skipped with the reason shown in the warnings summary as well as the skip line.
    """
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        reason = f"POSTGRESQL SERVER UNAVAILABLE, production-profile tests NOT RUN: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}\n(CI must run them: .ci/run installs postgresql)")
        warnings.warn(reason, UserWarning, stacklevel=1)
        pytest.skip(reason)
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_env(postgres_cluster):
    """The RISK_PG_* variables of a new, empty database on the session's server."""
    return postgres_cluster.env(postgres_cluster.create_database())
