"""The local Spark driver's stderr is relayed into logging at each line's real level (pure Python; the
relay on a live JVM is exercised by every Spark test and checked by the running-Airflow test)."""

from __future__ import annotations

import logging

import pytest

from dataops_jobs.jvm_logs import LOG4J2_PROPERTIES, line_level, relay_lines, with_log4j2_config


@pytest.mark.parametrize(("line", "level"), [
    ("WARN NativeCodeLoader: Unable to load native-hadoop library", logging.WARNING),
    ("ERROR Executor: Exception in task 0.0", logging.ERROR),
    ("INFO SparkContext: Running Spark version 4.2.0", logging.INFO),
    ("FATAL SparkContext: out of luck", logging.CRITICAL),
    ("26/12/05 12:43:00 WARN MapPartitionsRDD: RDD 168 was locally checkpointed", logging.WARNING),
    ("WARNING: Using incubator modules: jdk.incubator.vector", logging.DEBUG),
    ("OpenJDK 64-Bit Server VM warning: CodeCache is full. Compiler has been disabled.", logging.WARNING),
])
def test_line_level(line: str, level: int) -> None:
    assert line_level(line, logging.INFO) == level


def test_stack_trace_lines_continue_their_record(caplog: pytest.LogCaptureFixture) -> None:
    lines = ["ERROR Executor: Exception in task\n", "java.lang.IllegalStateException: boom\n",
             "\tat org.example.Foo.bar(Foo.java:1)\n", "\n", "WARN Other: later\n", "unprefixed tail\n"]
    with caplog.at_level(logging.DEBUG, logger="jvm-test"):
        relay_lines(lines, logging.getLogger("jvm-test"))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "ERROR Executor: Exception in task"),
        (logging.ERROR, "java.lang.IllegalStateException: boom"),
        (logging.ERROR, "\tat org.example.Foo.bar(Foo.java:1)"),
        (logging.WARNING, "WARN Other: later"),
        (logging.WARNING, "unprefixed tail"),
    ]


def test_output_outside_log4j_is_at_least_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="jvm-test"):
        relay_lines(["Picked up JAVA_TOOL_OPTIONS: -Xss4m\n"], logging.getLogger("jvm-test"))
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_shipped_log4j2_config_is_added_unless_the_user_names_one() -> None:
    options = with_log4j2_config("-XX:+UseSerialGC")
    assert options == f"-XX:+UseSerialGC -Dlog4j2.configurationFile={LOG4J2_PROPERTIES.as_uri()}"
    assert LOG4J2_PROPERTIES.is_file()
    own = "-Dlog4j2.configurationFile=file:///etc/spark/log4j2.properties"
    assert with_log4j2_config(own) == own
    assert with_log4j2_config("").startswith("-Dlog4j2.configurationFile=")


def test_shipped_config_is_quiet_and_leads_with_the_level() -> None:
    text = LOG4J2_PROPERTIES.read_text()
    assert "rootLogger.level = warn" in text
    assert "appender.stderr.layout.pattern = %p " in text
    assert "logger.nativecode.level = error" in text
