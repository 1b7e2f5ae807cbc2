"""What the remote targets (Databricks ``runs/submit``, ``spark-submit``) share: errors, task identity,
retry settings.

The targets themselves live in ``operators.databricks`` (``DatabricksRunMixin``,
``DataOpsCycleOperator``) and ``operators.spark_submit`` (``SparkSubmitMixin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataops_intelligence.operators.databricks_payload import idempotency_token

if TYPE_CHECKING:
    from airflow.sdk import Context


class RemoteTargetUnavailable(RuntimeError):
    """Raised when the configured compute target cannot be used from this installation."""


class RemoteRunError(RuntimeError):
    """Raised when a remote run ends without success; the message carries the run's own error text."""


@dataclass(frozen=True)
class TaskIdentity:
    """The task-instance try a remote run belongs to (the source of its idempotency token)."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    map_index: int = -1

    @classmethod
    def from_context(cls, context: Context) -> TaskIdentity:
        """Read dag, task, run and try from the task context."""
        ti = context["ti"]
        return cls(
            dag_id=str(ti.dag_id),
            task_id=str(ti.task_id),
            run_id=str(ti.run_id),
            try_number=int(ti.try_number or 1),
            map_index=int(getattr(ti, "map_index", -1) if getattr(ti, "map_index", None) is not None else -1),
        )

    @property
    def token(self) -> str:
        """``runs/submit`` idempotency token of this try."""
        return idempotency_token(self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    @property
    def run_name(self) -> str:
        """A readable Databricks run name."""
        return f"dataops:{self.dag_id}.{self.task_id}"


def retry_setting(key: str, default: float) -> float:
    """``[dataops] <key>`` (``AIRFLOW__DATAOPS__<KEY>``) as a number, else ``default``."""
    from dataops_intelligence.settings import _airflow_conf

    raw = _airflow_conf(key)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise RemoteTargetUnavailable(f"[dataops] {key} must be a number, got {raw!r}") from None
