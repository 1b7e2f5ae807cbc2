"""SparkSession factory: the one place a session is configured (the seed's DatabricksConnector, Spark side).

On Databricks and under spark-submit the session already exists and is simply returned. Locally we
build an embedded PySpark with Delta Lake started from the cached jars (see ``spark_jars``), bound to
loopback, UI off, UTC, and an in-memory catalog: every table is addressed by path. Its JVM logs
through the shipped ``log4j2.properties`` (quiet by default) and its stderr is relayed into Python
logging at each line's level (``jvm_logs``): under Airflow, raw stderr lines would read as errors.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from dataops_jobs.jvm_logs import launch_gateway, with_log4j2_config
from dataops_jobs.spark_jars import fetch_delta_jars

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config

log = logging.getLogger(__name__)


def running_on_databricks() -> bool:
    """True inside a Databricks runtime (serverless, job or all-purpose cluster)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def spark_for(config: Config, *, target: str | None = None) -> SparkSession:
    """The session for a validated config: ``target`` (default ``compute.target``) and ``local.*``."""
    from pathlib import Path

    local = config.local
    return get_spark(target=target or config.compute.target, master=local.spark_master,
                     shuffle_partitions=local.shuffle_partitions, driver_memory=local.driver_memory,
                     jars_dir=Path(local.jars_dir) if local.jars_dir else None,
                     driver_java_options=local.driver_java_options)


def _java_options(options: str | None) -> str:
    """Driver JVM options: ``local.driver_java_options`` (C1-only JIT and the serial GC by default)."""
    from dataops_jobs.config.models import DEFAULT_DRIVER_JAVA_OPTIONS

    return DEFAULT_DRIVER_JAVA_OPTIONS if options is None else options


def _start_jvm(conf: dict[str, str]) -> None:
    """Start the driver JVM with its stderr relayed into logging (see ``jvm_logs``), unless PySpark
    already has one or attaches to an external gateway (``PYSPARK_GATEWAY_PORT``)."""
    from pyspark import SparkContext

    if SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        launch_gateway(conf)


def get_spark(
    *,
    target: str = "local",
    master: str = "local[2]",
    app_name: str = "dataops-intelligence",
    shuffle_partitions: int = 4,
    driver_memory: str = "2g",
    jars_dir: Path | None = None,
    driver_java_options: str | None = None,
) -> SparkSession:
    """Return the session for ``target`` (``local`` builds one; other targets reuse the active one)."""
    from pyspark.sql import SparkSession

    if target != "local" or running_on_databricks():
        return SparkSession.builder.appName(app_name).getOrCreate()
    # One embedded session per process: Airflow tasks run in-process under dag.test() share it.
    active = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if active is not None:
        return active
    jars = fetch_delta_jars(jars_dir)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers (applyInPandas) must run the interpreter that has this package installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.jars": ",".join(jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.driver.memory": driver_memory,
        "spark.driver.extraJavaOptions": with_log4j2_config(_java_options(driver_java_options)),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    _start_jvm(conf)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "WARN"))
    log.info("local Spark %s started (%s) with %d Delta jars", spark.version, master, len(jars))
    return spark
