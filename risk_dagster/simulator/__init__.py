"""The embedded simulated prop firm: day traders with hidden behavioural states trading symbols
with realistic intraday prices; produces canonical FILLS, TOTALS and GROUND_TRUTH tables."""

from risk_dagster.simulator.config import InjectedChange, SimBatch, SimulationConfig, trader_ids
from risk_dagster.simulator.engine import iter_simulation, simulate
from risk_dagster.simulator.propreports import write_propreports_exports

__all__ = ["InjectedChange", "SimBatch", "SimulationConfig", "iter_simulation", "simulate",
           "trader_ids", "write_propreports_exports"]
