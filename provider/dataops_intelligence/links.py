"""Operator extra link: the Databricks run page of a DataOps task (from its ``run_page_url`` XCom)."""

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
        """The URL pushed under ``run_page_url``, or an empty string."""
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(key=XCOM_RUN_PAGE_URL_KEY, ti_key=ti_key)
        return str(value) if value else ""
