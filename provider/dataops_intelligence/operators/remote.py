"""Running a stage on a remote Spark target (Databricks ``runs/submit`` or ``spark-submit``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from dataops_jobs.config import Config


class RemoteTargetUnavailable(RuntimeError):
    """Raised when the configured compute target cannot be used from this installation."""


def run_remote(
    operator: BaseOperator, config: Config, target: str, start: datetime, end: datetime, context: Context
) -> dict[str, Any]:
    """Submit the stage to ``target``."""
    raise RemoteTargetUnavailable(
        f"compute target {target!r} is not available in this release of the provider; "
        "set compute.target: local"
    )
