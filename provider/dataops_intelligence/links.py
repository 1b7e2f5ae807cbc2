"""Operator extra link: the Databricks run page of a DataOps task.

Airflow 3 resolves every extra link in the worker when the task finishes (``finalize``) and stores the
result as an XCom. Our operators remember the run page of the run they submitted, so the link needs no
XCom look-up: a ``local`` task has no run page and must not log "XCom not found" for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: XCom keys, the same as the official Databricks operators use.
XCOM_RUN_ID_KEY = "run_id"
XCOM_RUN_PAGE_URL_KEY = "run_page_url"


class DataOpsRunLink(BaseOperatorLink):
    """"Databricks run": the run page of the task's last submitted run (empty for local runs)."""

    name = "Databricks run"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The run page the operator submitted (empty when it ran locally); for an operator that does not
        track it, the URL pushed under ``run_page_url``."""
        if hasattr(operator, "databricks_run_page_url"):
            return str(getattr(operator, "databricks_run_page_url", None) or "")
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(key=XCOM_RUN_PAGE_URL_KEY, ti_key=ti_key)
        return str(value) if value else ""
