"""JobsCollector on crafted system-table rows: slices, repairs, in-flight runs, renames, deletions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs.collectors import Interval
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.cycle import DataOpsOrchestrator
from dataops_jobs.io import read_output
from dataops_jobs.simulator.delta_io import rows_frame, write_table

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
WS = "1111"


def ts(hh: int, mm: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 11, day, hh, mm)


def slice_row(job: str, run: str, start: datetime, end: datetime, state: str | None = None,
              code: str | None = None) -> dict[str, Any]:
    return {"account_id": "acc", "workspace_id": WS, "job_id": job, "run_id": run, "period_start_time": start,
            "period_end_time": end, "trigger_type": "CRON", "result_state": state, "run_type": "JOB_RUN",
            "run_name": f"run-{run}", "termination_code": code,
            "run_duration_seconds": int((end - start).total_seconds()) if state else None}


def task_row(job: str, run: str, start: datetime, end: datetime, cluster: str) -> dict[str, Any]:
    return {"account_id": "acc", "workspace_id": WS, "job_id": job, "run_id": f"t{run}", "job_run_id": run,
            "period_start_time": start, "period_end_time": end, "task_key": "main", "compute_ids": [cluster]}


def job_row(job: str, name: str, at: datetime, deleted: datetime | None = None) -> dict[str, Any]:
    return {"account_id": "acc", "workspace_id": WS, "job_id": job, "name": name, "creator_id": "42",
            "creator_user_name": "ana@example.com", "tags": {"team": "data"}, "run_as": "42",
            "change_time": at, "delete_time": deleted}


FIRST = {
    "lakeflow.jobs": [job_row("10", "orders_old", ts(8)), job_row("10", "orders_daily", ts(9)),
                      job_row("11", "legacy_export", ts(7))],
    "lakeflow.job_run_timeline": [
        # run 100: 2h15 in three hour-aligned slices, the state only on the last one
        slice_row("10", "100", ts(10, 15), ts(11)), slice_row("10", "100", ts(11), ts(12)),
        slice_row("10", "100", ts(12), ts(12, 30), "SUCCEEDED", "SUCCESS"),
        # run 101: failed, then repaired under the same run_id
        slice_row("10", "101", ts(13), ts(13, 20), "FAILED", "RUN_EXECUTION_ERROR"),
        slice_row("10", "101", ts(14), ts(14, 10), "SUCCEEDED", "SUCCESS"),
        # run 102: in flight at the end of the first interval
        slice_row("10", "102", ts(15), ts(16)),
        slice_row("11", "110", ts(10), ts(10, 5), "SUCCEEDED", "SUCCESS"),
    ],
    "lakeflow.job_task_run_timeline": [
        task_row("10", "100", ts(10, 15), ts(12, 30), "0001-cluster-a"),
        task_row("10", "102", ts(15), ts(16), "0001-cluster-b"),
    ],
}
SECOND = {
    "lakeflow.jobs": [job_row("11", "legacy_export", ts(17), deleted=ts(17))],
    "lakeflow.job_run_timeline": [slice_row("10", "102", ts(16), ts(16, 20), "FAILED", "DRIVER_ERROR")],
    "lakeflow.job_task_run_timeline": [],
}


def write(spark: SparkSession, root: Path, tables: dict[str, list[dict[str, Any]]], overwrite: bool) -> None:
    for table, rows in tables.items():
        write_table(spark, str(root), table, rows_frame(spark, table, rows), overwrite=overwrite)


@pytest.fixture(scope="module")
def workspace(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("crafted")
    write(spark, root / "system", FIRST, overwrite=True)
    config = load_config_from_dict({"local": {"system_tables_path": str(root / "system"),
                                              "warehouse_path": str(root / "warehouse")}})
    orchestrator = DataOpsOrchestrator(spark, config, processors=[])
    first = orchestrator.run_stage("collect_runs", Interval(ts(15, 30), ts(16)))
    before = {r["run_id"]: r.asDict() for r in read_output(spark, orchestrator.locator, "job_monitoring").collect()}
    rerun = orchestrator.run_stage("collect_runs", Interval(ts(15, 30), ts(16)))
    again = {r["run_id"]: r.asDict() for r in read_output(spark, orchestrator.locator, "job_monitoring").collect()}
    write(spark, root / "system", SECOND, overwrite=False)
    second = orchestrator.run_stage("collect_runs", Interval(ts(17, 30), ts(18)))
    after = {r["run_id"]: r.asDict() for r in read_output(spark, orchestrator.locator, "job_monitoring").collect()}
    return {"before": before, "again": again, "after": after, "first": first, "rerun": rerun, "second": second}


def test_sliced_run_is_one_row_with_final_state(workspace: dict[str, Any]) -> None:
    run = workspace["before"]["100"]
    assert run["status"] == "SUCCEEDED"
    assert run["start_time"] == ts(10, 15)
    assert run["end_time"] == ts(12, 30)
    assert run["duration_minutes"] == pytest.approx(135.0)
    assert run["attempts"] == 1
    assert run["cluster_id"] == "0001-cluster-a"
    assert run["job_name"] == "orders_daily"  # latest SCD row, not the first


def test_repaired_run_counts_attempts_and_keeps_last_state(workspace: dict[str, Any]) -> None:
    run = workspace["before"]["101"]
    assert run["attempts"] == 2
    assert run["status"] == "SUCCEEDED"
    assert run["is_failed"] is False
    assert run["end_time"] == ts(14, 10)
    assert run["duration_minutes"] == pytest.approx(30.0)


def test_in_flight_run_is_updated_when_it_finishes(workspace: dict[str, Any]) -> None:
    running = workspace["before"]["102"]
    assert running["status"] == "RUNNING"
    assert running["end_time"] is None
    assert running["result_state"] is None
    done = workspace["after"]["102"]
    assert done["status"] == "FAILED"
    assert done["is_failed"] is True
    assert done["termination_code"] == "DRIVER_ERROR"
    assert done["failure_category"] == "platform"
    assert done["end_time"] == ts(16, 20)
    assert done["duration_minutes"] == pytest.approx(80.0)
    assert done["cluster_id"] == "0001-cluster-b"


def test_deleted_job_is_flagged_on_its_collected_runs(workspace: dict[str, Any]) -> None:
    assert workspace["before"]["110"]["job_deleted"] is False
    assert workspace["after"]["110"]["job_deleted"] is True
    assert workspace["after"]["110"]["job_name"] == "legacy_export"


def test_rerunning_the_same_interval_changes_nothing(workspace: dict[str, Any]) -> None:
    assert workspace["again"] == workspace["before"]
    assert workspace["rerun"]["incremental"] is True


def test_second_cycle_reads_only_new_rows(workspace: dict[str, Any]) -> None:
    assert workspace["first"]["rows_read"]["job_run_timeline"] == 7
    assert workspace["first"]["incremental"] is False
    # one new slice; the 3-hour overlap re-reads the slices that ended after 13:00 for late rows
    assert workspace["second"]["rows_new"]["job_run_timeline"] == 1
    assert workspace["second"]["rows_read"]["job_run_timeline"] == 4
    assert workspace["second"]["rows_new"]["jobs"] == 1
    assert workspace["rerun"]["rows_new"]["job_run_timeline"] == 0
    assert set(workspace["after"]) == {"100", "101", "102", "110"}
