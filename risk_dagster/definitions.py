"""The Dagster code location (``dagster dev``, workspace.yaml): the definitions built by
``defs.build.build_defs`` with the settings of the environment (``RISK_DATA_DIR``, ...)."""

from risk_dagster.core.settings import load_settings
from risk_dagster.defs.build import build_defs
from risk_dagster.instance import use_sqlite_wal_normal_sync

# Run workers of `dagster dev` load this module: their event writes get the same SQLite setting
# as the CLI's (risk_dagster.instance).
use_sqlite_wal_normal_sync()
defs = build_defs(load_settings())
