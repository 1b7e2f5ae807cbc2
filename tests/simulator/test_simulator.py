"""Semantics of the simulated system tables: slicing, repairs, in-flight runs, determinism, joins,
ground truth (against the small simulations built once in ``conftest``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from tests.simulator.conftest import DAYS, END, JOBS, SEED, Sims, load_json

from dataops_jobs.schemas import SYSTEM_TABLES
from dataops_jobs.simulator import GROUND_TRUTH, INCIDENT_TYPES, MANIFEST, table_path

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark
TERMINAL_FAILURES = {"FAILED", "ERROR", "TIMED_OUT"}


def _read(spark: SparkSession, root: Path, table: str) -> DataFrame:
    return spark.read.format("delta").load(table_path(str(root), table))


def _runs(spark: SparkSession, root: Path) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    df = _read(spark, root, "lakeflow.job_run_timeline").select(
        "run_id",
        "result_state",
        "termination_code",
        "run_duration_seconds",
        F.unix_timestamp("period_start_time").alias("s"),
        F.unix_timestamp("period_end_time").alias("e"),
    )
    return [row.asDict() for row in df.collect()]


def _by_run(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r["s"], r["e"])):
        out.setdefault(row["run_id"], []).append(row)
    return out


def test_slices_are_hour_aligned_and_outcomes_only_on_terminal_slices(
    spark: SparkSession, sims: Sims
) -> None:
    rows = _runs(spark, sims.full)
    assert 60 < len({r["run_id"] for r in rows}) < 400
    for r in rows:
        assert r["s"] // 3600 == max(r["s"], r["e"] - 1) // 3600, r  # inside one clock hour
        if r["result_state"] is None:
            assert r["e"] % 3600 == 0, r  # an intermediate slice ends on the hour
            assert r["termination_code"] is None
            assert r["run_duration_seconds"] is None
        else:
            assert r["termination_code"] is not None
            assert r["run_duration_seconds"] is not None
    long_runs = [
        slices
        for slices in _by_run(rows).values()
        if slices[0]["e"] - slices[0]["s"] > 0 and sum(s["e"] - s["s"] for s in slices) > 3600
    ]
    assert long_runs
    assert all(len(slices) >= 2 for slices in long_runs)


def test_repairs_add_terminal_rows_under_the_same_run_id(spark: SparkSession, sims: Sims) -> None:
    repaired = [
        slices
        for slices in _by_run(_runs(spark, sims.full)).values()
        if sum(s["result_state"] is not None for s in slices) > 1
    ]
    assert repaired
    for slices in repaired:
        terminal = [s["result_state"] for s in slices if s["result_state"] is not None]
        assert terminal[0] in TERMINAL_FAILURES


def test_in_flight_runs_get_their_terminal_slice_from_append_day(spark: SparkSession, sims: Sims) -> None:
    end_before = int((END - timedelta(days=1)).timestamp())
    before = _by_run(_runs(spark, sims.before))
    in_flight = {
        rid
        for rid, slices in before.items()
        if slices[-1]["result_state"] is None and slices[-1]["e"] == end_before
    }
    assert in_flight
    after = _by_run(_runs(spark, sims.grown))
    for rid in in_flight:
        assert after[rid][-1]["result_state"] is not None
        assert len(after[rid]) > len(before[rid])


@pytest.mark.parametrize("table", sorted(SYSTEM_TABLES))
def test_n_days_plus_append_day_equals_n_plus_one_days(spark: SparkSession, sims: Sims, table: str) -> None:
    from pyspark.sql import functions as F

    # set operations do not take MAP columns: compare each row's JSON (map order is deterministic too)
    full, grown = (
        _read(spark, root, table).select(F.to_json(F.struct("*")).alias("row"))
        for root in (sims.full, sims.grown)
    )
    assert full.count() == grown.count() > 0
    assert full.exceptAll(grown).count() == 0
    assert grown.exceptAll(full).count() == 0


def test_same_seed_same_plans_other_seed_differs() -> None:
    from dataops_jobs.simulator.catalog import SimConfig, build_catalog
    from dataops_jobs.simulator.engine import _collect, _plans

    def rows(seed: int) -> dict[str, list[dict[str, Any]]]:
        cfg = SimConfig(seed, JOBS, 2, END - timedelta(days=DAYS))
        catalog = build_catalog(cfg)
        return _collect(cfg, catalog, _plans(cfg, catalog, DAYS), 0, DAYS).tables

    assert rows(SEED) == rows(SEED)
    assert rows(SEED) != rows(SEED + 1)


def test_manifest_and_summary(sims: Sims) -> None:
    manifest = load_json(sims.grown / MANIFEST)
    assert isinstance(manifest, dict)
    assert manifest["days"] == DAYS + 1
    assert manifest["seed"] == SEED
    assert manifest["jobs"] == JOBS
    assert datetime.fromisoformat(manifest["end"]) == END
    assert sims.appended.days_written == (DAYS, DAYS + 1)
    assert sims.appended.end == END
    assert sims.full_summary.row_counts["compute.node_timeline"] > 0
    assert sims.full_summary.runs > 0


def test_ground_truth_references_existing_ids(spark: SparkSession, sims: Sims) -> None:
    truth = load_json(sims.full / GROUND_TRUTH)
    assert isinstance(truth, list)
    assert truth
    assert {i["type"] for i in truth} >= {"failure_streak", "memory_leak", "cpu_saturation", "cost_spike"}
    assert {i["type"] for i in truth} <= set(INCIDENT_TYPES)
    jobs = {(r.workspace_id, r.job_id) for r in _read(spark, sims.full, "lakeflow.jobs").collect()}
    runs = {(r.job_id, r.run_id) for r in _read(spark, sims.full, "lakeflow.job_run_timeline").collect()}
    clusters = {r.cluster_id for r in _read(spark, sims.full, "compute.clusters").collect()}
    for incident in truth:
        assert (incident["workspace_id"], incident["job_id"]) in jobs
        assert all((incident["job_id"], rid) in runs for rid in incident["affected_run_ids"])
        assert set(incident["cluster_ids"]) <= clusters
        assert datetime.fromisoformat(incident["start"]) < END
    streak = next(i for i in truth if i["type"] == "failure_streak")
    assert len(streak["affected_run_ids"]) == streak["parameters"]["runs"]


def test_memory_leak_saturates_memory_on_its_clusters(spark: SparkSession, sims: Sims) -> None:
    from pyspark.sql import functions as F

    truth = load_json(sims.full / GROUND_TRUTH)
    assert isinstance(truth, list)
    leak = next(i for i in truth if i["type"] == "memory_leak" and i["cluster_ids"])
    nodes = _read(spark, sims.full, "compute.node_timeline")
    leaky = nodes.where(F.col("cluster_id").isin(leak["cluster_ids"]) & ~F.col("driver"))
    assert leaky.agg(F.max("mem_used_percent")).first()[0] > 90.0  # type: ignore[index]
    assert nodes.agg(F.percentile_approx("mem_used_percent", 0.5)).first()[0] < 75.0  # type: ignore[index]


def test_node_timeline_one_row_per_instance_minute_one_driver(spark: SparkSession, sims: Sims) -> None:
    from pyspark.sql import functions as F

    nodes = _read(spark, sims.full, "compute.node_timeline")
    assert nodes.groupBy("instance_id", "start_time").count().where("count > 1").count() == 0
    assert nodes.where(F.unix_timestamp("start_time") % 60 != 0).count() == 0
    drivers = nodes.where("driver").groupBy("cluster_id", "start_time").count()
    assert drivers.where("count != 1").count() == 0


def test_billing_joins_to_runs_by_job_run_id(spark: SparkSession, sims: Sims) -> None:
    from pyspark.sql import functions as F

    usage = _read(spark, sims.full, "billing.usage")
    runs = (
        _read(spark, sims.full, "lakeflow.job_run_timeline")
        .select("workspace_id", "job_id", "run_id")
        .distinct()
    )
    jobs_usage = (
        usage.where(F.col("billing_origin_product") == "JOBS")
        .select(
            "workspace_id",
            F.col("usage_metadata.job_id").alias("job_id"),
            F.col("usage_metadata.job_run_id").alias("run_id"),
            "sku_name",
            "record_type",
        )
        .cache()
    )
    assert jobs_usage.count() > 0
    assert jobs_usage.join(runs, ["workspace_id", "job_id", "run_id"], "left_anti").count() == 0
    assert {r.sku_name for r in jobs_usage.select("sku_name").distinct().collect()} >= {
        "PREMIUM_JOBS_COMPUTE",
        "PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA",
    }
    assert jobs_usage.select(F.countDistinct("run_id")).first()[0] > 50  # type: ignore[index]
    jobs_usage.unpersist()


def test_deleted_job_has_a_deletion_row_and_no_later_runs(spark: SparkSession, sims: Sims) -> None:
    from pyspark.sql import functions as F

    jobs = _read(spark, sims.full, "lakeflow.jobs")
    deleted = jobs.where(F.col("delete_time").isNotNull()).collect()
    assert deleted
    runs = _read(spark, sims.full, "lakeflow.job_run_timeline")
    for row in deleted:
        later = runs.where((F.col("job_id") == row.job_id) & (F.col("period_start_time") >= row.delete_time))
        assert later.count() == 0


def test_list_price_change_closes_the_old_row() -> None:
    from dataops_jobs.simulator.billing import list_price_rows
    from dataops_jobs.simulator.catalog import SimConfig

    cfg = SimConfig(SEED, JOBS, 2, datetime(2026, 1, 1, tzinfo=timezone.utc))
    early = list_price_rows(cfg, cfg.day_start(3))
    late = list_price_rows(cfg, cfg.day_start(30))
    assert all(r["price_end_time"] is None for r in early)
    closed = [r for r in late if r["price_end_time"] is not None]
    assert closed
    assert len(late) == len(early) + len(closed)
