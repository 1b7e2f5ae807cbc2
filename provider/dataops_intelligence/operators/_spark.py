"""The embedded SparkSession of the ``local`` target, built from ``config.local`` (lazy imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config


def local_spark(config: Config) -> SparkSession:
    """The worker's local SparkSession with Delta (reused when one is already active)."""
    from dataops_jobs.session import spark_for

    return spark_for(config, target="local")
