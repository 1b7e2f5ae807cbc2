"""The embedded SparkSession of the ``local`` target, built from ``config.local`` (lazy imports)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config


def local_spark(config: Config) -> SparkSession:
    """The worker's local SparkSession with Delta (reused when one is already active)."""
    from dataops_jobs.session import get_spark

    local = config.local
    return get_spark(master=local.spark_master, shuffle_partitions=local.shuffle_partitions,
                     driver_memory=local.driver_memory,
                     jars_dir=Path(local.jars_dir) if local.jars_dir else None)
