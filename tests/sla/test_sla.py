"""SLA evaluation: max duration and finish-by, finished and in-flight runs, as of the interval end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs.config.models import Config

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
NOW = datetime(2026, 6, 15, 7, 0)  # 07:00 UTC: after B's 06:00 deadline


def run(job: str, run_id: str, start: datetime, end: datetime | None) -> dict[str, Any]:
    duration = (end - start).total_seconds() / 60 if end else None
    return {"workspace_id": "w1", "job_id": f"id_{job}", "job_name": job, "run_id": run_id, "start_time": start,
            "end_time": end, "duration_minutes": duration, "status": "SUCCESS" if end else "RUNNING"}


def test_breaches_of_finished_and_in_flight_runs(spark: SparkSession, tmp_path: Path) -> None:
    from dataops_jobs.io import TableLocator, merge_into, read_output
    from dataops_jobs.schemas.output import OUTPUT_TABLES
    from dataops_jobs.sla import evaluate_slas

    config = Config.model_validate({
        "local": {"warehouse_path": str(tmp_path / "wh")},
        "sla": {"jobs": [{"job_name": "etl_a", "max_duration_minutes": 60},
                         {"job_id": "id_daily_b", "finish_by": "06:00"}]},
    })
    locator = TableLocator(config)
    h = timedelta(hours=1)
    rows = [
        run("etl_a", "a_slow", NOW - 5 * h, NOW - 5 * h + timedelta(minutes=90)),   # 90 > 60: breach
        run("etl_a", "a_fast", NOW - 3 * h, NOW - 3 * h + timedelta(minutes=30)),   # fine
        run("etl_a", "a_flight", NOW - timedelta(minutes=70), None),                # 70 min so far: breach
        run("etl_a", "a_future_end", NOW - timedelta(minutes=61), NOW + h),          # in flight as of NOW
        run("daily_b", "b_late", NOW - 3 * h, NOW - timedelta(minutes=30)),         # ended 06:30: breach
        run("daily_b", "b_ok", NOW - 3 * h, NOW - timedelta(minutes=70)),           # ended 05:50: fine
        run("daily_b", "b_flight", NOW - 2 * h, None),                              # 05:00, running: breach
        run("daily_b", "b_after", NOW - timedelta(minutes=50), NOW - timedelta(minutes=20)),  # next day's
        run("other", "o_slow", NOW - 5 * h, NOW),                                   # no SLA
    ]
    spec = OUTPUT_TABLES["job_monitoring"]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    merge_into(spark, locator, "job_monitoring",
               spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], ddl))

    result = evaluate_slas(spark, config, locator, NOW)

    found = {(r["run_id"], r["sla_kind"]): r for r in read_output(spark, locator, "sla_breaches").collect()}
    assert set(found) == {("a_slow", "max_duration"), ("a_flight", "max_duration"),
                          ("a_future_end", "max_duration"), ("b_late", "finish_by"), ("b_flight", "finish_by")}
    assert result.to_dict() == {"evaluated_runs": 9, "breaches": 5, "in_flight_breaches": 3}
    assert found[("a_future_end", "max_duration")]["in_flight"] is True
    assert found[("b_late", "finish_by")]["deadline"] == datetime(2026, 6, 15, 6, 0)
    assert found[("b_late", "finish_by")]["overrun_minutes"] == pytest.approx(30)
    assert "had not finished by its deadline" in found[("b_flight", "finish_by")]["message"]
    assert "is still running after 70 min" in found[("a_flight", "max_duration")]["message"]
    # Idempotent: the same instant leaves the same rows.
    evaluate_slas(spark, config, locator, NOW)
    assert read_output(spark, locator, "sla_breaches").count() == 5


def test_breach_rows_become_alert_candidates() -> None:
    from dataops_intelligence.operators.sla import breach_candidates

    rows = [{"job_id": "1", "job_name": "etl", "workspace_id": "w", "run_id": "9", "sla_kind": "finish_by",
             "message": "late"}]
    (candidate,) = breach_candidates(rows, ["slack"])
    assert candidate.alert_type == "sla_deadline"
    assert candidate.severity.value == "error"
    assert candidate.channels == ("slack",)
    assert candidate.labels["run_id"] == "9"
