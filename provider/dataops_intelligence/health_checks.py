"""The platform's own health checks: source tables, output location, alert channels.

Each check returns :class:`CheckResult` objects (one per table or channel) and never raises for a
broken precondition; :func:`raise_on_failure` turns failures into one :class:`HealthCheckFailed`
naming every failed check and its reason. Spark and Airflow are imported lazily.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataops_jobs.errors import DataOpsError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyspark.sql import SparkSession

    from dataops_intelligence.alerting.channels.base import AlertChannel
    from dataops_intelligence.alerting.policy_config import ChannelSettings
    from dataops_intelligence.alerting.store import AlertStore
    from dataops_jobs.config import Config

PROBE_TABLE = "_dataops_probe"
PROBE_TIMEOUT = 5.0


class HealthCheckFailed(DataOpsError):
    """Raised by a health-check task when at least one check failed; the message lists them all."""


@dataclass(frozen=True)
class CheckResult:
    """One check on one target: ``source_tables:lakeflow.jobs``, ``channel:slack``..."""

    check: str
    target: str
    ok: bool
    reason: str = "ok"

    def line(self) -> str:
        """``[FAIL] source_tables system.lakeflow.jobs: table not found ...``."""
        return f"[{'ok' if self.ok else 'FAIL'}] {self.check} {self.target}: {self.reason}"


def raise_on_failure(results: Iterable[CheckResult]) -> list[str]:
    """Every result line; raise :class:`HealthCheckFailed` listing the failed ones."""
    results = list(results)
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "\n".join(r.line() for r in failed)
        raise HealthCheckFailed(f"{len(failed)} of {len(results)} health check(s) failed:\n{detail}")
    return [r.line() for r in results]


# -- source tables ------------------------------------------------------------------------------
def check_source_tables(spark: SparkSession, config: Config) -> list[CheckResult]:
    """Each configured system table is readable and has the expected columns and column types."""
    from dataops_jobs.io import SourceTableError, TableLocator, read_table
    from dataops_jobs.schemas.system import SYSTEM_TABLES

    locator = TableLocator(config)
    results = []
    for field_name in type(config.storage.sources).model_fields:
        ref = locator.source(field_name)
        key = f"{ref.schema}.{ref.table}"
        try:
            actual = read_table(spark, ref).schema
        except SourceTableError as exc:
            results.append(CheckResult("source_tables", ref.name, False, str(exc)))
            continue
        expected = SYSTEM_TABLES.get(key)
        reason = _schema_problem(expected, actual) if expected is not None else None
        results.append(CheckResult("source_tables", ref.name, reason is None, reason or "ok"))
    return results


def _schema_problem(expected: Any, actual: Any) -> str | None:
    """Missing columns or changed top-level types; extra columns are fine (Databricks adds some)."""
    have = {f.name: f.dataType for f in actual.fields}
    missing = [f.name for f in expected.fields if f.name not in have]
    if missing:
        return f"missing expected column(s): {', '.join(missing)}"
    changed = [
        f"{f.name} is {have[f.name].simpleString()} (expected {f.dataType.simpleString()})"
        for f in expected.fields
        if _atomic(f.dataType) and have[f.name].simpleString() != f.dataType.simpleString()
    ]
    return f"column type mismatch: {'; '.join(changed)}" if changed else None


def _atomic(data_type: Any) -> bool:
    # Nested types legitimately gain fields over Databricks releases: only atomic types must match.
    return data_type.typeName() not in ("struct", "array", "map")


# -- output location ----------------------------------------------------------------------------
def check_output_writable(spark: SparkSession, config: Config) -> CheckResult:
    """Write one probe row into a probe table at the output location, delete it, confirm it is gone."""
    from pyspark.sql import functions as F

    from dataops_jobs.io import TableLocator

    ref = TableLocator(config).output(PROBE_TABLE)
    where = ref.path or ref.name
    probe_id = uuid.uuid4().hex
    row = spark.createDataFrame([(probe_id, datetime.now(timezone.utc).replace(tzinfo=None))],
                                "probe_id STRING, written_at TIMESTAMP")
    step = "write"
    try:
        writer = row.write.format("delta").mode("append")
        writer.save(ref.path) if ref.path else writer.saveAsTable(ref.sql)
        step = "delete"
        target = _delta_table(spark, ref.path, ref.name)
        target.delete(F.col("probe_id") == probe_id)
        step = "verify"
        left = target.toDF().where(F.col("probe_id") == probe_id).count()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:400] if str(exc).strip() else type(exc).__name__
        return CheckResult("output_writable", where, False,
                           f"output location is not writable ({step} of a probe row failed): {first}")
    if left:
        return CheckResult("output_writable", where, False, f"probe row {probe_id} still present after DELETE")
    return CheckResult("output_writable", where, True, "probe row written and deleted")


def _delta_table(spark: SparkSession, path: str | None, name: str) -> Any:
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, path) if path else DeltaTable.forName(spark, name)


# -- alert channels -----------------------------------------------------------------------------
def check_channels(config: Config, rules_path: str | None = None) -> list[CheckResult]:
    """Each configured channel: its configuration (connection, variables, URL, signing secret; nothing
    sent), then a test message to its test destination, else a dry-run.

    A channel's test destination is ``options.test_endpoint`` (webhook, Teams) or
    ``options.test_channel`` (Slack Web API); a file channel gets its test line. The
    dry-run resolves the connection and opens a TCP connection to its host and port, sending nothing.
    A configuration that does not load (unknown type, missing option) is one failed check naming the
    file and key.
    """
    from dataops_intelligence.alerting.errors import AlertingError
    from dataops_intelligence.alerting.rules_loader import load_settings
    from dataops_intelligence.alerting.seed_config import merge_seed_config
    from dataops_intelligence.notifiers import default_rules_path

    try:
        settings = merge_seed_config(load_settings(rules_path or default_rules_path()), config.alerting)
    except AlertingError as exc:
        return [CheckResult("alert_channels", "configuration", False, str(exc))]
    if settings is None:
        return [CheckResult("alert_channels", "*", True, "alerting disabled: nothing to check")]
    results = []
    for channel in settings.channels:
        problems = _config_problems(channel)
        if problems:
            results.append(CheckResult("alert_channels", f"{channel.name} ({channel.type})", False,
                                       "; ".join(problems)))
            continue
        test_target = _test_destination(channel)
        if test_target is not None:
            results.append(_send_test(channel, test_target))
        else:
            results.append(_dry_run(channel))
    return results


def _config_problems(channel: ChannelSettings) -> list[str]:
    from dataops_intelligence.alerting.channels.registry import default_registry
    from dataops_intelligence.alerting.engine import channel_problems

    instance = default_registry().build([channel])
    return channel_problems(instance)


def check_blocked_deliveries(stores: Iterable[tuple[str, AlertStore]]) -> list[CheckResult]:
    """Deliveries held back by a configuration fault: each fails the check until it goes out (the
    engine re-tries them every cycle; fixing the configuration delivers them)."""
    from dataops_intelligence.alerting.engine import blocked_deliveries

    results = []
    for where, store in stores:
        try:
            blocked = blocked_deliveries(store)
        except Exception as exc:
            results.append(CheckResult("alert_outbox", where, False, f"outbox unreadable: {exc}"))
            continue
        if not blocked:
            results.append(CheckResult("alert_outbox", where, True, "no delivery blocked by configuration"))
            continue
        oldest = min((d.created_at for d in blocked if d.created_at is not None), default=None)
        channels = sorted({d.channel for d in blocked})
        reason = (f"{len(blocked)} deliveries pending on configuration (channels {', '.join(channels)}; "
                  f"oldest queued {oldest.isoformat() if oldest else '?'}): {blocked[0].last_error}")
        results.append(CheckResult("alert_outbox", where, False, reason))
    return results


def _test_destination(channel: ChannelSettings) -> dict[str, Any] | None:
    options = dict(channel.options)
    if channel.type in ("webhook", "teams") and options.get("test_endpoint"):
        return {**options, "endpoint": options["test_endpoint"]}
    if channel.type == "file":
        return options  # writing the test line is the check
    test_channel = options.get("test_channel")
    if channel.type == "slack_api" and test_channel:
        return {**options, "channel": test_channel}
    return None


def _send_test(channel: ChannelSettings, options: dict[str, Any]) -> CheckResult:
    from dataclasses import replace

    from dataops_intelligence.alerting.channels.registry import default_registry
    from dataops_intelligence.alerting.channels.retry import RetryPolicy

    target = f"{channel.name} ({channel.type}, test destination)"
    try:
        instance: AlertChannel = default_registry().get(channel.type)(
            replace(channel, options=options), retry=RetryPolicy(max_attempts=1))
        result = instance.send(probe_notification(channel.name))
    except Exception as exc:
        return CheckResult("alert_channels", target, False, f"test message not sent: {exc}")
    if not result.ok:
        return CheckResult("alert_channels", target, False, f"test message not delivered: {result.error}")
    return CheckResult("alert_channels", target, True, "test message delivered")


def _dry_run(channel: ChannelSettings) -> CheckResult:
    """Resolve the connection and open (then close) a TCP connection to it; send nothing."""
    target = f"{channel.name} ({channel.type}, dry-run)"
    try:
        host, port = _endpoint(channel)
    except Exception as exc:
        return CheckResult("alert_channels", target, False, f"connection {channel.conn_id!r} unusable: {exc}")
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            pass
    except OSError as exc:
        return CheckResult("alert_channels", target, False,
                           f"{host}:{port} (connection {channel.conn_id!r}) is unreachable: {exc}")
    return CheckResult("alert_channels", target, True, f"{host}:{port} reachable (nothing sent)")


def _endpoint(channel: ChannelSettings) -> tuple[str, int]:
    """Host and port a channel talks to, from its Airflow connection (a URL password wins)."""
    from urllib.parse import urlsplit

    from airflow.sdk import BaseHook

    if channel.type == "slack_api":
        return "slack.com", 443
    conn = BaseHook.get_connection(channel.conn_id or "http_default")
    password = conn.password or ""
    if "://" in password:
        url = urlsplit(password)
        return str(url.hostname), url.port or (443 if url.scheme == "https" else 80)
    host = conn.host or ""
    if "://" in host:
        url = urlsplit(host)
        return str(url.hostname), conn.port or url.port or (443 if url.scheme == "https" else 80)
    if not host:
        raise ValueError("no host")
    default = 25 if channel.type == "email" else (80 if (conn.schema or "") == "http" else 443)
    return host, int(conn.port or default)


def probe_notification(channel: str) -> Any:
    """A clearly labelled, info-level test notification (unique dedup key: never deduplicated away)."""
    from dataops_intelligence.alerting.model import (
        AlertSnapshot,
        AlertStatus,
        Notification,
        NotificationKind,
        Severity,
    )

    now = datetime.now(timezone.utc)
    key = f"healthcheck-{uuid.uuid4().hex}"
    alert = AlertSnapshot(fingerprint=key, rule="health_check", alert_type="health_check", severity=Severity.INFO,
                          status=AlertStatus.FIRING, message="DataOps Intelligence health check: test message",
                          job_id=None, labels={"source": "health_check"}, starts_at=now)
    return Notification(dedup_key=key, channel=channel, group_key=key, kind=NotificationKind.FIRING,
                        alerts=(alert,), group_labels={"source": "health_check"}, created_at=now, send_at=now)
