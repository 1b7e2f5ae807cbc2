"""A faithful local Databricks workspace REST emulator, for tests and demos (never production).

Quick start::

    with DatabricksEmulator(token="dapi-test") as emu:
        os.environ["AIRFLOW_CONN_DATABRICKS_EMU"] = emu.airflow_connection_json()
        WorkspaceClient(host=emu.url, token=emu.token)
"""

from __future__ import annotations

from dataops_intelligence.emulator.app import RequestRecord
from dataops_intelligence.emulator.errors import ApiError, EmulatorError, OAuthError, SqlExecutionError
from dataops_intelligence.emulator.faults import FaultPlan
from dataops_intelligence.emulator.server import DatabricksEmulator
from dataops_intelligence.emulator.sql import SqlColumn, SqlExecutor, default_sql_executor

__all__ = [
    "ApiError",
    "DatabricksEmulator",
    "EmulatorError",
    "FaultPlan",
    "OAuthError",
    "RequestRecord",
    "SqlColumn",
    "SqlExecutionError",
    "SqlExecutor",
    "default_sql_executor",
]
