"""Retention deletes exactly the rows older than the window; OPTIMIZE/VACUUM and housekeeping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs.config.models import Config

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark
NOW = datetime(2026, 6, 15, 12, 0, 0)


def make_config(tmp_path: Path, **retention: int) -> Config:
    return Config.model_validate({
        "local": {"system_tables_path": str(tmp_path / "system"), "warehouse_path": str(tmp_path / "wh")},
        "retention": retention,
    })


def rows_for(spark: SparkSession, table: str, rows: list[dict[str, Any]]) -> DataFrame:
    from dataops_jobs.schemas.output import OUTPUT_TABLES

    spec = OUTPUT_TABLES[table]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    return spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], ddl)


def append(spark: SparkSession, locator: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Create the table and append rows (a plain Delta append: much cheaper than a MERGE)."""
    from dataops_jobs.io import ensure_table
    from dataops_jobs.schemas.output import OUTPUT_TABLES

    ref = locator.output(table)
    ensure_table(spark, ref, OUTPUT_TABLES[table])
    rows_for(spark, table, rows).write.format("delta").mode("append").save(ref.path)


def run(run_id: str, start: datetime | None) -> dict[str, Any]:
    return {"workspace_id": "w1", "job_id": "j1", "run_id": run_id, "start_time": start, "status": "SUCCESS"}


def test_retention_deletes_exactly_the_rows_older_than_the_window(spark: SparkSession, tmp_path: Path) -> None:
    from dataops_jobs.io import TableLocator, read_output
    from dataops_jobs.maintenance import apply_retention, run_retention

    config = make_config(tmp_path, job_monitoring=30)
    locator = TableLocator(config)
    cutoff = NOW - timedelta(days=30)
    append(spark, locator, "job_monitoring", [
        run("ancient", NOW - timedelta(days=400)),
        run("just_too_old", cutoff - timedelta(seconds=1)),
        run("at_cutoff", cutoff),
        run("just_inside", cutoff + timedelta(seconds=1)),
        run("recent", NOW - timedelta(hours=1)),
        run("no_start", None),
    ])

    report = run_retention(spark, config, locator, NOW.replace(tzinfo=timezone.utc))

    left = {r["run_id"] for r in read_output(spark, locator, "job_monitoring").select("run_id").collect()}
    assert left == {"at_cutoff", "just_inside", "recent", "no_start"}
    assert report.tables["job_monitoring"] == {"days": 30, "deleted": 2}
    assert report.tables["resource_metrics"] == {"skipped": "table not created yet"}
    # Idempotent: the same instant deletes nothing more.
    assert apply_retention(spark, locator, "job_monitoring", 30, NOW) == 0


def test_optimize_vacuum_and_watermark_housekeeping(spark: SparkSession, tmp_path: Path) -> None:
    from dataops_jobs.io import TableLocator, read_output
    from dataops_jobs.maintenance import housekeep_watermarks, optimize_and_vacuum

    config = make_config(tmp_path)
    locator = TableLocator(config)
    for i in range(3):  # three appends: three small files to compact
        append(spark, locator, "job_monitoring", [run(f"r{i}", NOW - timedelta(hours=i))])
    append(spark, locator, "watermarks", [
        {"source": "job_run_timeline", "watermark": NOW - timedelta(minutes=5), "rows_read": 1, "updated_at": NOW},
        {"source": "usage", "watermark": NOW + timedelta(days=3), "rows_read": 1, "updated_at": NOW},
        {"source": "retired_source", "watermark": NOW, "rows_read": 1, "updated_at": NOW},
    ])

    marks = housekeep_watermarks(spark, config, locator, NOW)
    report = optimize_and_vacuum(spark, config, locator).tables

    assert marks["removed_unknown_sources"] == 1
    assert marks["clamped_future"] == 1
    left = {r["source"]: r["watermark"] for r in read_output(spark, locator, "watermarks").collect()}
    assert left == {"job_run_timeline": NOW - timedelta(minutes=5), "usage": NOW}
    assert report["job_monitoring"]["files_removed"] >= 2
    assert report["job_monitoring"]["vacuum_retain_hours"] == 168
    assert read_output(spark, locator, "job_monitoring").count() == 3


def test_alert_store_housekeeping_keeps_open_deliveries(tmp_path: Path) -> None:
    import sqlite3

    from dataops_intelligence.alerting.store import SqliteAlertStore
    from dataops_intelligence.operators.maintenance import prune_alert_store

    path = tmp_path / "alerts.sqlite"
    SqliteAlertStore(path)
    now = datetime(2026, 6, 15, tzinfo=timezone.utc)
    old, recent = (now - timedelta(days=30)).isoformat(), (now - timedelta(hours=1)).isoformat()
    rows = [("sent_old", "sent", 0, {"sent_at": old}), ("sent_recent", "sent", 0, {"sent_at": recent}),
            ("pending_old", "failed", 1, {"created_at": old})]
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?)", [(k, s, o, json.dumps(r)) for k, s, o, r in rows])
        conn.execute("INSERT INTO alert_history VALUES (?, ?)", ("h1", json.dumps({"updated_at": old})))

    pruned = prune_alert_store(path, now, timedelta(days=7), history_days=7)

    with sqlite3.connect(path) as conn:
        left = {r[0] for r in conn.execute("SELECT delivery_id FROM outbox")}
    assert left == {"sent_recent", "pending_old"}
    assert pruned == {"outbox": 1, "alert_state": 0, "alert_history": 1}
