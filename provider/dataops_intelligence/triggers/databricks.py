"""``DataOpsExecutionTrigger``: the provider's ``DatabricksExecutionTrigger`` on ``DataOpsDatabricksHook``.

Polling, the event it yields (``run_id``, ``run_page_url``, ``run_state`` JSON, ``errors``) and
``on_kill`` (cancels the run) are upstream's; only the hook differs, so service-principal OAuth uses
the same host, schema and port as the API calls.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.databricks.triggers.databricks import DatabricksExecutionTrigger

from dataops_intelligence.hooks.databricks import DataOpsDatabricksHook


class DataOpsExecutionTrigger(DatabricksExecutionTrigger):
    """Waits for a Databricks run in the triggerer and yields one JSON-safe event."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hook = DataOpsDatabricksHook(
            self.databricks_conn_id,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
            retry_args=self.retry_args,
            caller=self.caller,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Same kwargs as upstream, under this class's path."""
        _, kwargs = super().serialize()
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs
