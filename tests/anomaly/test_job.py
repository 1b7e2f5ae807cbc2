"""AnomalyDetector on crafted tables: a 3x regression by its second run, a memory leak before
saturation, failure streaks, cost spikes, deterministic ids and no duplicates on re-runs."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "health"))
from crafted import END, WS, daily_runs, make_config, metric_row, run, write

from dataops_jobs.anomaly.job import AnomalyDetector
from dataops_jobs.collectors.base import Interval
from dataops_jobs.io import TableLocator, read_output

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
INTERVAL = Interval(END - timedelta(days=40), END)
LEAK_START = END - timedelta(hours=5)


def _runs() -> list[dict[str, Any]]:
    base = [30.0, 28.0, 33.0, 31.0, 29.0, 35.0, 27.0, 30.0, 32.0, 29.0] * 3
    rows = daily_runs("regress", [*base, 90.0, 95.0, 88.0])
    statuses = ["SUCCEEDED"] * 25 + ["FAILED"] * 4 + ["SUCCEEDED"]
    rows += daily_runs("streak", [20.0] * 30, statuses=statuses)
    # Two failures of a daily job in a row span a day: not yet a streak (N = 3, 48 hours).
    rows += daily_runs("blip", [20.0] * 30, statuses=["SUCCEEDED"] * 20 + ["FAILED"] * 2 + ["SUCCEEDED"] * 8)
    # A weekly job failing twice has been broken for a week: a streak at its second failure.
    weekly_start = END - timedelta(days=3 + 7 * 7)
    weekly = ["SUCCEEDED"] * 6 + ["FAILED"] * 2
    rows += [run("weekly", i, weekly_start + timedelta(days=7 * i), 20.0, status=state)
             for i, state in enumerate(weekly)]
    rows += daily_runs("spiky", [40.0] * 30)
    rows.append(run("leaky", 0, LEAK_START, 150.0, cluster="c-leak"))
    return rows


def _costs() -> list[dict[str, Any]]:
    from decimal import Decimal

    out = []
    for i in range(30):
        dbus = Decimal("8.0") * (4 if i == 28 else 1)
        out.append({"workspace_id": WS, "job_id": "spiky", "run_id": f"spiky-r{i:04d}", "usage_start": END,
                    "usage_end": END, "dbus": dbus, "list_cost": dbus, "currency_code": "USD",
                    "sku_names": ["JOBS"], "is_serverless": False, "record_count": 1})
    return out


def _leak() -> list[dict[str, Any]]:
    """Busiest-node memory ramps from 45 % to 99 % over 150 minutes (saturates at ~95 %)."""
    rows = []
    for m in range(150):
        mem = 45.0 + 54.0 * (m / 149) ** 1.3
        rows.append(metric_row("c-leak", LEAK_START + timedelta(minutes=m), job_id="leaky", run_id="leaky-r0000",
                               cpu=50.0, mem=mem - 5, mem_max=mem))
    return rows


@pytest.fixture(scope="module")
def detected(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = make_config(tmp_path_factory.mktemp("anomalies"))
    write(spark, config, "job_monitoring", _runs())
    write(spark, config, "job_costs", _costs())
    write(spark, config, "resource_metrics", _leak())
    locator = TableLocator(config)
    first = AnomalyDetector(spark, config, locator).process(INTERVAL)
    df = read_output(spark, locator, "job_anomalies")
    assert df is not None
    rows = [r.asDict() for r in df.orderBy("detected_at").collect()]
    second = AnomalyDetector(spark, config, locator).process(INTERVAL)
    again = read_output(spark, locator, "job_anomalies")
    assert again is not None
    return {"rows": rows, "first": first, "second": second, "count_again": again.count(),
            "ids_again": {r["anomaly_id"] for r in again.select("anomaly_id").collect()}}


def _of(detected: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in detected["rows"] if r["anomaly_type"] == kind]


def test_3x_regression_flagged_by_its_second_run(detected: dict[str, Any]) -> None:
    found = [r for r in _of(detected, "duration_regression") if r["job_id"] == "regress"]
    runs = sorted(r["run_id"] for r in found)
    assert runs[0] in ("regress-r0030", "regress-r0031")
    assert "regress-r0032" in runs  # still flagged: the baseline did not silently adapt
    first = found[0]
    assert first["observed"] == 90.0
    assert 25 < first["expected"] < 35
    assert first["lower_bound"] < first["expected"] < first["upper_bound"] < 90
    assert first["severity"] in ("low", "medium", "high", "critical")
    assert "x its median of" in first["explanation"]
    assert first["detected_at"] == END.replace(hour=2) - timedelta(days=3) + timedelta(minutes=90)


def test_memory_leak_flagged_before_saturation(detected: dict[str, Any]) -> None:
    leak = _of(detected, "memory_saturation_forecast")
    assert len(leak) == 1
    saturated_at = next(r for r in _leak() if r["memory_utilization_max"] >= 95)["timestamp"]
    assert leak[0]["detected_at"] < saturated_at
    assert leak[0]["cluster_id"] == "c-leak"
    assert leak[0]["job_id"] == "leaky"
    assert "projected to reach 95%" in leak[0]["explanation"]


def test_failure_streak_and_cost_spike(detected: dict[str, Any]) -> None:
    streak = sorted(_of(detected, "failure_streak"), key=lambda r: r["run_id"])
    # The daily job by its third failure, the weekly one by its second, the daily pair not at all.
    assert [r["run_id"] for r in streak] == ["streak-r0027", "weekly-r0007"]
    assert "3 consecutive failed runs over 48 hours" in streak[0]["explanation"]
    assert "2 consecutive failed runs over 168 hours" in streak[1]["explanation"]
    spike = _of(detected, "cost_spike")
    assert [r["run_id"] for r in spike] == ["spiky-r0028"]
    assert spike[0]["observed"] == pytest.approx(4 * 8.0 / (40 / 60))


def test_rerun_adds_no_duplicates(detected: dict[str, Any]) -> None:
    ids = {r["anomaly_id"] for r in detected["rows"]}
    assert len(ids) == len(detected["rows"]) > 0
    assert detected["count_again"] == len(detected["rows"])
    assert detected["ids_again"] == ids
    assert detected["first"].rows_written == detected["second"].rows_written


def test_a_later_cycle_resumes_from_the_saved_state(spark: SparkSession, tmp_path: Path) -> None:
    """Runs collected before the watermark are not re-read: the next cycle learns only the new runs
    and still finds the regression's third run, because the detector state remembers the first two."""
    config = make_config(tmp_path)
    runs = _runs()
    split = END - timedelta(days=1)
    write(spark, config, "job_monitoring", [r for r in runs if r["end_time"] <= split], collected_at=split)
    locator = TableLocator(config)
    first = AnomalyDetector(spark, config, locator).process(Interval(split - timedelta(days=60), split))
    before = {(r["anomaly_type"], r["run_id"]) for r in read_output(spark, locator, "job_anomalies").collect()}
    write(spark, config, "job_monitoring", [r for r in runs if r["end_time"] > split])
    second = AnomalyDetector(spark, config, locator).process(Interval(split, END))
    df = read_output(spark, locator, "job_anomalies")
    assert df is not None
    new = {(r["anomaly_type"], r["run_id"]) for r in df.collect()} - before
    assert ("duration_regression", "regress-r0031") in before
    assert new == {("duration_regression", "regress-r0032")}
    assert first.details["series_replayed"] == second.details["series_replayed"] == 0
    state = read_output(spark, locator, "analysis_state")
    assert state is not None
    regress = state.where("detector = 'runs' AND series_id = 'job:regress'").first()
    assert regress is not None
    assert regress["last_id"] == "regress-r0032"
    assert regress["points"] == 33


def test_a_late_run_replays_its_job(spark: SparkSession, tmp_path: Path) -> None:
    """A run collected after later runs were learnt (late data) replays that job's series from its
    history, so the result is the one a single backfill gives."""
    config = make_config(tmp_path)
    runs = [r for r in _runs() if r["job_id"] == "regress"]
    late = runs.pop(20)
    write(spark, config, "job_monitoring", runs, collected_at=END - timedelta(hours=1))
    locator = TableLocator(config)
    AnomalyDetector(spark, config, locator).process(Interval(END - timedelta(days=60), END - timedelta(hours=1)))
    write(spark, config, "job_monitoring", [late])
    result = AnomalyDetector(spark, config, locator).process(Interval(END - timedelta(hours=1), END))
    assert result.details["series_replayed"] == 1
    state = read_output(spark, locator, "analysis_state")
    assert state is not None
    row = state.where("detector = 'runs' AND series_id = 'job:regress'").first()
    assert row is not None
    assert row["points"] == 33
