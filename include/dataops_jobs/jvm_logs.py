"""The embedded Spark driver's JVM output, routed into Python logging at its real level.

The JVM writes Log4j records and its own notices to stderr. Under Airflow every stderr line of a task
becomes an ERROR line in the task log, so a healthy run would read as a failing one. The local target
therefore starts the JVM with its stderr on a pipe (:func:`launch_gateway`) and a daemon thread relays
each line to the ``dataops_jobs.jvm`` logger at the level the line carries: Log4j's level (the shipped
``log4j2.properties`` puts it first; Spark's default ``yy/MM/dd HH:mm:ss LEVEL`` form is read too),
``WARNING`` for the JVM's own warnings, the previous record's level for stack-trace lines. The
launcher notice every Spark 4 JVM prints ("Using incubator modules", Spark adds the vector module
itself) is logged at DEBUG.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from py4j.java_gateway import JavaGateway

LOG4J2_PROPERTIES = Path(__file__).with_name("log4j2.properties")
"""The Log4j 2 configuration shipped with the package (quiet by default, level first)."""

JVM_LOGGER = "dataops_jobs.jvm"
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
_LOG4J = re.compile(r"^(?:\d\d/\d\d/\d\d \d\d:\d\d:\d\d )?(TRACE|DEBUG|INFO|WARN|ERROR|FATAL) (.*)$")
_JVM_WARNING = re.compile(r"^(?:WARNING:|OpenJDK .*warning:|Java HotSpot.*warning:)", re.IGNORECASE)
_EXPECTED_NOTICES = ("WARNING: Using incubator modules",)


def with_log4j2_config(java_options: str) -> str:
    """``java_options`` plus ``-Dlog4j2.configurationFile`` for the shipped config, unless the options
    already name a Log4j configuration (then the user's wins)."""
    if "log4j2.configurationFile" in java_options or "log4j.configuration" in java_options:
        return java_options
    return f"{java_options} -Dlog4j2.configurationFile={LOG4J2_PROPERTIES.as_uri()}".strip()


def line_level(line: str, previous: int) -> int:
    """The logging level of one JVM stderr line (``previous``: the level of the record it continues)."""
    if line.startswith(_EXPECTED_NOTICES):
        return logging.DEBUG
    match = _LOG4J.match(line)
    if match:
        return _LEVELS[match.group(1)]
    if _JVM_WARNING.match(line):
        return logging.WARNING
    return previous


def relay_lines(lines: Iterable[str], logger: logging.Logger) -> None:
    """Log every line at :func:`line_level`; a line that is not a new record continues the last one."""
    level = logging.WARNING  # output the JVM prints outside Log4j is at least worth a warning
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            continue
        level = line_level(line, level)
        logger.log(level, "%s", line)


def _relay(stream: IO[bytes]) -> None:
    logger = logging.getLogger(JVM_LOGGER)
    with stream:
        relay_lines((raw.decode("utf-8", errors="replace") for raw in stream), logger)


def launch_gateway(conf: dict[str, str]) -> JavaGateway:
    """Start the Py4J gateway (the driver JVM) with ``conf`` and its stderr relayed to logging.

    PySpark's own launcher inherits the caller's stderr; this passes a pipe instead and installs the
    gateway as the one ``SparkContext`` uses, so ``SparkSession.builder`` then reuses this JVM.
    """
    import subprocess

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway as pyspark_launch

    spark_conf = SparkConf(loadDefaults=False)
    for key, value in conf.items():
        spark_conf.set(key, value)
    gateway = pyspark_launch(spark_conf, popen_kwargs={"stderr": subprocess.PIPE})  # type: ignore[no-untyped-call]
    proc = getattr(gateway, "proc", None)
    if proc is not None and proc.stderr is not None:
        threading.Thread(target=_relay, args=(proc.stderr,), name="spark-jvm-stderr", daemon=True).start()
    SparkContext._gateway = gateway
    SparkContext._jvm = gateway.jvm
    return gateway


__all__ = ["JVM_LOGGER", "LOG4J2_PROPERTIES", "launch_gateway", "line_level", "relay_lines", "with_log4j2_config"]
