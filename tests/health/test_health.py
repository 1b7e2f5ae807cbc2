"""HealthAnalyzer on crafted runs: failing jobs drop and degrade, stable jobs stay high and stable,
few runs give low confidence, points lost add up, SLAs count, re-runs are idempotent."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from crafted import END, daily_runs, make_config, run, write

from dataops_jobs.collectors.base import Interval
from dataops_jobs.health import HealthAnalyzer
from dataops_jobs.io import TableLocator, read_output

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark
INTERVAL = Interval(END - timedelta(hours=1), END)
COMPONENT_LOSSES = ("success_rate", "current_failures", "performance_stability", "sla_adherence", "retry_rate",
                    "duration_drift", "cost_drift", "uncertainty")


def _noisy(n: int, median: float, sigma: float, seed: int) -> list[float]:
    r = random.Random(seed)
    return [median * r.lognormvariate(0.0, sigma) for _ in range(n)]


def _workspace() -> list[dict[str, Any]]:
    rows = daily_runs("stable", _noisy(44, 30.0, 0.05, 1))
    statuses = ["SUCCEEDED"] * 34 + ["FAILED", "SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED", "FAILED",
                                     "FAILED", "SUCCEEDED", "FAILED", "SUCCEEDED"]
    rows += daily_runs("failing", _noisy(44, 30.0, 0.05, 2), statuses=statuses)
    rows += [run("young", 0, END - timedelta(days=2), 30.0, status="FAILED"),
             run("young", 1, END - timedelta(days=1), 30.0, status="FAILED")]
    rows += daily_runs("slow", [30.0] * 30 + [55.0] * 14)
    for seed in range(8):  # jobs with random variation only: 5 % failures, 30 % duration noise
        r = random.Random(100 + seed)
        st = ["FAILED" if r.random() < 0.05 else "SUCCEEDED" for _ in range(44)]
        rows += daily_runs(f"noisy{seed}", _noisy(44, 20.0, 0.3, 200 + seed), statuses=st)
    return rows


@pytest.fixture(scope="module")
def scores(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("health")
    config = make_config(tmp, sla={"jobs": [{"job_id": "slow", "max_duration_minutes": 45}]})
    write(spark, config, "job_monitoring", _workspace())
    result = HealthAnalyzer(spark, config, TableLocator(config)).process(INTERVAL)
    again = HealthAnalyzer(spark, config, TableLocator(config)).process(INTERVAL)
    df = read_output(spark, TableLocator(config), "job_health_scores")
    assert df is not None
    rows = {r["job_id"]: r.asDict() for r in df.where(df.calculation_time == END).collect()}
    return {"rows": rows, "count": df.count(), "days": df.select("calculation_time").distinct().count(),
            "result": result, "again": again}


def test_stable_job_scores_near_100_and_stable(scores: dict[str, Any]) -> None:
    row = scores["rows"]["stable"]
    assert row["health_score"] >= 97
    assert row["trend"] == "stable"
    assert row["confidence"] == 1.0
    assert row["explanation"].startswith("no points lost")


def test_failing_job_drops_and_degrades(scores: dict[str, Any]) -> None:
    stable, failing = scores["rows"]["stable"], scores["rows"]["failing"]
    assert failing["health_score"] < stable["health_score"] - 15
    assert failing["trend"] == "degrading"
    assert failing["success_rate"] == pytest.approx(8 / 14)
    assert "on success rate (6/14 failed)" in failing["explanation"]
    assert failing["trend_statistic"] > 2.58


def test_two_runs_give_low_confidence_not_an_extreme_score(scores: dict[str, Any]) -> None:
    young = scores["rows"]["young"]
    assert young["runs_in_window"] == 2
    assert young["confidence"] == pytest.approx(0.2)
    assert 55 <= young["health_score"] <= 80  # both runs failed, yet the score stays near the prior
    assert young["raw_score"] < 50
    assert "low confidence (2 runs of the 10 needed)" in young["explanation"]


def test_random_variation_stays_stable(scores: dict[str, Any]) -> None:
    trends = {j: (r["trend"], r["trend_reason"]) for j, r in scores["rows"].items() if j.startswith("noisy")}
    assert {t for t, _ in trends.values()} == {"stable"}, trends


def test_points_lost_add_up_to_the_score(scores: dict[str, Any]) -> None:
    for row in scores["rows"].values():
        lost = sum(row[f"points_lost_{c}"] for c in COMPONENT_LOSSES)
        assert 100 - row["health_score"] == pytest.approx(lost, abs=1e-6)


def test_sla_and_duration_drift_cost_points(scores: dict[str, Any]) -> None:
    slow = scores["rows"]["slow"]
    assert slow["sla_adherence"] == 0.0
    assert slow["duration_drift"] == pytest.approx(55 / 30 - 1, rel=0.01)
    assert slow["trend"] == "degrading"
    assert "SLA adherence (14/14 runs missed the SLA)" in slow["explanation"]
    assert "duration drift (+83% vs baseline)" in slow["explanation"]
    assert scores["rows"]["stable"]["sla_adherence"] is None


def test_rerun_is_idempotent(scores: dict[str, Any]) -> None:
    assert len(scores["rows"]) == 12
    # Runs collected late (all of them, here) rescore every day of the backfill window they touch.
    assert scores["days"] == 30
    assert scores["result"].details["days_scored"] == scores["again"].details["days_scored"] == 30
    assert scores["result"].rows_written == scores["again"].rows_written == scores["count"]


def test_one_row_per_job_and_day_on_the_grid(spark: SparkSession, tmp_path: Path) -> None:
    """Cycles in the middle of a day keep one row for that day, as of the latest cycle; the day's
    row becomes final at midnight, and the window ends at what the score has seen."""
    config = make_config(tmp_path)
    write(spark, config, "job_monitoring", daily_runs("d", [30.0] * 20), collected_at=END)
    analyzer = HealthAnalyzer(spark, config, TableLocator(config))
    analyzer.process(Interval(END - timedelta(hours=1), END))
    noon = END + timedelta(hours=12)
    write(spark, config, "job_monitoring", [run("d", 99, END + timedelta(hours=2), 30.0)], collected_at=noon)
    analyzer.process(Interval(noon - timedelta(minutes=30), noon))
    analyzer.process(Interval(noon, noon + timedelta(minutes=30)))
    df = read_output(spark, TableLocator(config), "job_health_scores")
    assert df is not None
    rows = {r["calculation_time"]: r for r in df.collect()}
    today = rows[END + timedelta(days=1)]
    assert today["window_end"] == noon + timedelta(minutes=30)
    assert today["runs_in_window"] == 14
    assert rows[END]["window_end"] == END
    assert rows[END]["runs_in_window"] == 14


def test_weights_are_normalised(spark: SparkSession, tmp_path: Path) -> None:
    # Failure share scored linearly (max_failure_rate 1) so that the half-failing job scores 50.
    config = make_config(tmp_path, health={"max_failure_rate": 1.0, "weights": {
        "success_rate": 3, "current_failures": 0, "performance_stability": 0, "sla_adherence": 0,
        "retry_rate": 0, "duration_drift": 0, "cost_drift": 0}})
    statuses = ["SUCCEEDED"] * 30 + ["FAILED", "SUCCEEDED"] * 7
    write(spark, config, "job_monitoring", daily_runs("half", [30.0] * 44, statuses=statuses))
    HealthAnalyzer(spark, config, TableLocator(config)).process(INTERVAL)
    df = read_output(spark, TableLocator(config), "job_health_scores")
    assert df is not None
    row = df.where(df.calculation_time == END).first()
    assert row is not None
    assert row["health_score"] == pytest.approx(50.0)
