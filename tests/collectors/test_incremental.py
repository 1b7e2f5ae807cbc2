"""On a simulated workspace: an incremental cycle after one more day equals a full collection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs import simulator
from dataops_jobs.collectors import Interval
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.cycle import DataOpsOrchestrator, utc_naive
from dataops_jobs.io import read_output, read_table

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark
STAGES = ("collect_runs", "collect_metrics")
TABLES = ("job_monitoring", "resource_metrics", "job_costs")


def snapshot(df: DataFrame | None) -> list[tuple[Any, ...]]:
    assert df is not None
    cols = sorted(c for c in df.columns if c != "collected_at")
    return sorted(tuple(str(r[c]) for c in cols) for r in df.select(*cols).collect())


def orchestrator(spark: SparkSession, root: Path, warehouse: str) -> DataOpsOrchestrator:
    config = load_config_from_dict({"local": {"system_tables_path": str(root / "system"),
                                              "warehouse_path": str(root / warehouse)}})
    return DataOpsOrchestrator(spark, config, processors=[])


@pytest.fixture(scope="module")
def cycles(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("incremental")
    first = simulator.simulate_workspace(spark, str(root / "system"), jobs=4, days=2, seed=11)
    inc = orchestrator(spark, root, "incremental")
    end1 = utc_naive(first.end)
    inc.run_cycle(Interval(end1, end1), STAGES)
    runs_day1 = {r["run_id"] for r in read_output(spark, inc.locator, "job_monitoring").collect()}
    second = simulator.append_day(spark, str(root / "system"))
    end2 = utc_naive(second.end)
    summary = inc.run_cycle(Interval(end2, end2), STAGES)
    full = orchestrator(spark, root, "full")
    full.run_cycle(Interval(end2, end2), STAGES)
    timeline = read_table(spark, inc.locator.source("job_run_timeline"))
    return {
        "inc": {t: snapshot(read_output(spark, inc.locator, t)) for t in TABLES},
        "full": {t: snapshot(read_output(spark, full.locator, t)) for t in TABLES},
        "runs_day1": runs_day1,
        "runs_day2": {r["run_id"] for r in read_output(spark, inc.locator, "job_monitoring").collect()},
        "source_runs": {r["run_id"] for r in timeline.select("run_id").distinct().collect()},
        "day2_runs": {r["run_id"] for r in timeline.where(timeline.period_start_time >= end1)
                      .select("run_id").distinct().collect()},
        "summary": summary.to_dict(),
    }


@pytest.mark.parametrize("table", TABLES)
def test_incremental_cycle_equals_full_collection(cycles: dict[str, Any], table: str) -> None:
    assert cycles["inc"][table]
    assert cycles["inc"][table] == cycles["full"][table]


def test_every_source_run_is_collected(cycles: dict[str, Any]) -> None:
    assert cycles["runs_day2"] == cycles["source_runs"]


def test_appended_day_adds_exactly_its_runs(cycles: dict[str, Any]) -> None:
    added = cycles["runs_day2"] - cycles["runs_day1"]
    assert added
    assert added == cycles["day2_runs"] - cycles["runs_day1"]


def test_second_cycle_is_incremental(cycles: dict[str, Any]) -> None:
    stages = cycles["summary"]["stages"]
    assert all(stages[s]["incremental"] for s in STAGES)
    assert 0 < cycles["summary"]["rows_new"] <= cycles["summary"]["rows_read"]
