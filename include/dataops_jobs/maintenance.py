"""Table maintenance: retention deletes, OPTIMIZE, VACUUM and watermark housekeeping (Delta).

Retention deletes exactly the rows whose table's ``time_column`` is older than ``now - days`` (rows
with a NULL time are kept: their age is unknown). ``now`` is the maintenance run's interval end, so a
re-run deletes nothing more. OPTIMIZE and VACUUM run only on Delta tables; anything else is reported
as unsupported, not failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dataops_jobs.errors import DataOpsError
from dataops_jobs.io import table_exists
from dataops_jobs.schemas.output import OUTPUT_TABLES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config
    from dataops_jobs.io import TableLocator

log = logging.getLogger(__name__)
#: Tables without their own ``retention`` key borrow another table's window.
RETENTION_FALLBACK = {"sla_breaches": "alert_history"}
#: Delta refuses a shorter VACUUM retention unless its safety check is switched off.
DELTA_MIN_RETAIN_HOURS = 168
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


class MaintenanceError(DataOpsError):
    """A maintenance step failed on a table; the message names the table, the step and the cause."""


@dataclass
class MaintenanceReport:
    """Per-table outcome of a maintenance step (JSON-safe for XCom)."""

    step: str
    tables: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"step": self.step, "tables": self.tables}


def retention_days(config: Config) -> dict[str, int]:
    """Days kept per output table: the ``retention`` section plus fallbacks for newer tables."""
    days = {k: int(v) for k, v in config.retention.model_dump().items() if k != "vacuum_retain_hours"}
    for table, borrowed in RETENTION_FALLBACK.items():
        days.setdefault(table, days[borrowed])
    return days


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Rows strictly older than this are deleted."""
    return now - timedelta(days=days)


def _delta(spark: SparkSession, path: str | None, name: str) -> Any:
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, path) if path else DeltaTable.forName(spark, name)


def apply_retention(spark: SparkSession, locator: TableLocator, name: str, days: int, now: datetime) -> int:
    """Delete rows of output table ``name`` older than ``days`` before ``now``; return rows deleted."""
    from pyspark.sql import functions as F

    from dataops_jobs.cycle import utc_naive

    table = OUTPUT_TABLES.get(name)
    if table is None:
        raise MaintenanceError(f"retention: {name} is not a registered output table (no time column known)")
    ref = locator.output(name)
    cutoff = retention_cutoff(utc_naive(now), days)
    target = _delta(spark, ref.path, ref.name)
    before = _version(target)
    try:
        target.delete(F.col(table.time_column) < F.lit(cutoff).cast("timestamp"))
    except Exception as exc:
        raise MaintenanceError(f"retention: DELETE on {ref.name} ({ref.path or ref.sql}) failed: {exc}") from exc
    last = target.history(1).select("version", "operation", "operationMetrics").first()
    # A DELETE matching nothing commits nothing: the latest commit is then someone else's.
    if last is None or last["version"] == before or last["operation"] != "DELETE":
        return 0
    return int((last["operationMetrics"] or {}).get("numDeletedRows", 0))


def _version(target: Any) -> int | None:
    row = target.history(1).select("version").first()
    return int(row["version"]) if row is not None else None


def run_retention(spark: SparkSession, config: Config, locator: TableLocator, now: datetime) -> MaintenanceReport:
    """Retention over every output table with a window; missing tables are skipped."""
    report = MaintenanceReport("retention")
    for name, days in retention_days(config).items():
        ref = locator.output(name)
        if name not in OUTPUT_TABLES or not table_exists(spark, ref):
            report.tables[name] = {"skipped": "table not created yet" if name in OUTPUT_TABLES else "not registered"}
            continue
        deleted = apply_retention(spark, locator, name, days, now)
        report.tables[name] = {"days": days, "deleted": deleted}
        log.info("retention %s: kept %d days, deleted %d rows", ref.name, days, deleted)
    return report


def optimize_and_vacuum(spark: SparkSession, config: Config, locator: TableLocator) -> MaintenanceReport:
    """OPTIMIZE (compaction) then VACUUM each existing output table that is a Delta table."""
    report = MaintenanceReport("optimize_vacuum")
    hours = config.retention.vacuum_retain_hours
    previous = spark.conf.get(_RETENTION_CHECK, "true") or "true"
    if hours < DELTA_MIN_RETAIN_HOURS:
        log.warning("vacuum_retain_hours=%d is below Delta's %d h safety floor: check disabled for this run",
                    hours, DELTA_MIN_RETAIN_HOURS)
        spark.conf.set(_RETENTION_CHECK, "false")
    try:
        for name in sorted(OUTPUT_TABLES):
            report.tables[name] = _optimize_vacuum_one(spark, locator, name, hours)
    finally:
        spark.conf.set(_RETENTION_CHECK, previous)
    return report


def _optimize_vacuum_one(spark: SparkSession, locator: TableLocator, name: str, hours: int) -> dict[str, Any]:
    ref = locator.output(name)
    if not table_exists(spark, ref):
        return {"skipped": "table not created yet"}
    try:
        target = _delta(spark, ref.path, ref.name)
    except Exception as exc:  # a non-Delta table (parquet, a view): maintenance does not apply
        return {"skipped": f"unsupported (not a Delta table): {str(exc).splitlines()[0]}"}
    try:
        optimized = target.optimize().executeCompaction().first()
        target.vacuum(float(hours))
    except Exception as exc:
        raise MaintenanceError(f"OPTIMIZE/VACUUM of {ref.name} ({ref.path or ref.sql}) failed: {exc}") from exc
    metrics = (optimized["metrics"].asDict() if optimized is not None else {}) or {}
    return {"files_removed": int(metrics.get("numFilesRemoved", 0)), "files_added": int(metrics.get("numFilesAdded", 0)),
            "vacuum_retain_hours": hours}


def housekeep_watermarks(spark: SparkSession, config: Config, locator: TableLocator, now: datetime) -> dict[str, Any]:
    """Drop watermarks of sources no longer configured and clamp any watermark set in the future.

    A future watermark (clock skew, a bad manual edit) would make the collectors skip real rows until
    the clock catches up; clamping it to ``now`` lets the overlap window re-read them.
    """
    from pyspark.sql import functions as F

    from dataops_jobs.cycle import utc_naive

    ref = locator.output("watermarks")
    if not table_exists(spark, ref):
        return {"skipped": "table not created yet"}
    known = list(type(config.storage.sources).model_fields)
    at = F.lit(utc_naive(now)).cast("timestamp")
    target = _delta(spark, ref.path, ref.name)
    stale = target.toDF().where(~F.col("source").isin(known)).count()
    future = target.toDF().where(F.col("watermark") > at).count()
    if stale:
        target.delete(~F.col("source").isin(known))
    if future:
        target.update(F.col("watermark") > at, {"watermark": at})
    return {"removed_unknown_sources": stale, "clamped_future": future, "known_sources": known}
