"""The Dagster code location (``dagster dev``, workspace.yaml): the definitions built by
``defs.build.build_defs`` with the settings of the environment (``RISK_DATA_DIR``, ...)."""

from risk_dagster.core.settings import load_settings
from risk_dagster.defs.build import build_defs

defs = build_defs(load_settings())
