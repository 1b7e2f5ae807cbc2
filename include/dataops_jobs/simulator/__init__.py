"""A deterministic simulated Databricks workspace writing the system tables as local Delta tables.

For tests and the demo, never for production. ``simulate_workspace`` writes ``days`` days of
``system.lakeflow.*``, ``system.compute.*`` and ``system.billing.*`` at
``<system_tables_path>/<schema>/<table>`` (the local table contract) plus ``_simulator.json`` (the
manifest) and ``_ground_truth.json`` (injected incidents); ``append_day`` adds the next day.
"""

from __future__ import annotations

from dataops_jobs.simulator.delta_io import GROUND_TRUTH, MANIFEST, table_path
from dataops_jobs.simulator.engine import SimulationSummary, append_day, simulate_workspace
from dataops_jobs.simulator.incidents import INCIDENT_TYPES

__all__ = [
    "GROUND_TRUTH",
    "INCIDENT_TYPES",
    "MANIFEST",
    "SimulationSummary",
    "append_day",
    "simulate_workspace",
    "table_path",
]
