"""Settings every test runs under, as the CLI and the run workers do."""

import pytest

from risk_dagster.instance import use_sqlite_wal_normal_sync


@pytest.fixture(scope="session", autouse=True)
def sqlite_wal_normal_sync():
    """Test instances (``dg.instance_for_test``) write their events to SQLite like the local
    profile: with the profile's ``synchronous=NORMAL`` (risk_dagster.instance)."""
    use_sqlite_wal_normal_sync()
