"""The ``recommendations`` stage end to end on crafted tables (real Spark + Delta, one module fixture).

Seven jobs over six daily runs, each built so that exactly one kind applies (or none):
over-provisioned, well-sized, too few runs, memory-starved, bursty, idle start-up, and a job on an
all-purpose cluster that is itself mostly idle. Then a week later: the same evidence gives a new
period's rows, the old ones are history (not current), a job no longer found has no current row.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from dataops_jobs.collectors import Interval
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.cycle import DataOpsOrchestrator
from dataops_jobs.io import TableLocator, read_output
from dataops_jobs.recommend import Recommendation, evaluation_due, write_recommendations
from dataops_jobs.schemas.output import OUTPUT_TABLES
from dataops_jobs.simulator.delta_io import rows_frame, write_table

if TYPE_CHECKING:

    from pyspark.sql import SparkSession

    from dataops_jobs.config import Config

END = datetime(2025, 6, 1)
WS = "ws1"
NODE = "m5d.xlarge"
DBUS_PER_RUN = 30.0
JOBS_PRICE, AP_PRICE = 0.20, 0.55
AP_DBU_PER_HOUR = 20.0
MONTH = 30.0 / 14  # lookback_days 14 -> per 30 days


def _run(job: str, n: int, start: datetime, cluster: str, failed: bool = False) -> dict[str, Any]:
    return {"job_id": job, "job_name": f"job_{job}", "run_id": f"{job}-{n}", "status": "FAILED" if failed else "SUCCEEDED",
            "start_time": start, "end_time": start + timedelta(minutes=20), "duration_minutes": 20.0,
            "cluster_id": cluster, "workspace_id": WS, "is_failed": failed, "cluster_ids": [cluster],
            "termination_code": "DRIVER_ERROR" if failed else "SUCCESS", "collected_at": END}


def _minute(cluster: str, ts: datetime, job: str | None, run: str | None, workers: int, cpu: float, mem: float,
            mem_max: float | None = None, swap: float = 0.0) -> dict[str, Any]:
    # The driver runs at the workers' level, so the workers' mean equals the all-instance mean.
    return {"job_id": job, "cluster_id": cluster, "timestamp": ts, "cpu_utilization": cpu, "memory_utilization": mem,
            "workspace_id": WS, "run_id": run, "memory_utilization_max": mem_max or mem, "swap_percent": swap,
            "driver_memory_utilization": mem, "driver_cpu_utilization": cpu, "instance_count": workers + 1,
            "collected_at": END}


#: job -> (workers, runs, cpu per minute (index in run), memory, peak memory, swap, failed runs, idle minutes)
PROFILES: dict[str, dict[str, Any]] = {
    "over": {"workers": 8, "cpu": lambda i: 25.0, "mem": 20.0},
    "well": {"workers": 4, "cpu": lambda i: 78.0, "mem": 55.0},
    "few": {"workers": 8, "cpu": lambda i: 25.0, "mem": 20.0, "runs": 2},
    "mem": {"workers": 2, "cpu": lambda i: 50.0, "mem": 93.0, "peak": 99.0, "swap": 5.0, "failed": (1, 4)},
    "bursty": {"workers": 8, "cpu": lambda i: 80.0 if i < 6 else 20.0, "mem": 40.0},
    "idle": {"workers": 2, "cpu": lambda i: 60.0, "mem": 50.0, "idle": 15},
}


def _tables() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    runs, minutes, costs, clusters = [], [], [], []
    for job, p in PROFILES.items():
        for n in range(p.get("runs", 6)):
            start = END - timedelta(days=6 - n) + timedelta(hours=2)
            cluster = f"c-{job}-{n}"
            runs.append(_run(job, n, start, cluster, failed=n in p.get("failed", ())))
            for i in range(p.get("idle", 0)):  # start-up: the cluster is up, no task runs yet
                minutes.append(_minute(cluster, start - timedelta(minutes=p["idle"] - i), None, None, p["workers"], 5.0, 10.0))
            minutes += [_minute(cluster, start + timedelta(minutes=i), job, f"{job}-{n}", p["workers"], p["cpu"](i),
                                p["mem"], p.get("peak"), p.get("swap", 0.0)) for i in range(20)]
            costs.append({"workspace_id": WS, "job_id": job, "run_id": f"{job}-{n}", "usage_start": start,
                          "dbus": Decimal(DBUS_PER_RUN), "list_cost": Decimal(DBUS_PER_RUN * 0.15),
                          "sku_names": ["PREMIUM_JOBS_COMPUTE"], "is_serverless": False, "collected_at": END})
            clusters.append({"workspace_id": WS, "cluster_id": cluster, "cluster_source": "JOB", "change_time": start,
                             "worker_count": p["workers"], "driver_node_type": NODE, "worker_node_type": NODE})
    for n in range(6):  # a job on the all-purpose cluster ap1, which is up 140 minutes a day
        day = END - timedelta(days=6 - n)
        runs.append(_run("apjob", n, day + timedelta(hours=9), "ap1"))
        minutes += [_minute("ap1", day + timedelta(hours=7, minutes=i), None, None, 2, 5.0, 30.0) for i in range(120)]
        minutes += [_minute("ap1", day + timedelta(hours=9, minutes=i), "apjob", f"apjob-{n}", 2, 40.0, 40.0)
                    for i in range(20)]
    clusters.append({"workspace_id": WS, "cluster_id": "ap1", "cluster_name": "shared", "cluster_source": "UI",
                     "change_time": END - timedelta(days=90), "worker_count": 2, "auto_termination_minutes": 120,
                     "driver_node_type": NODE, "worker_node_type": NODE})
    return runs, minutes, costs, clusters


def _system(spark: SparkSession, root: str, clusters: list[dict[str, Any]]) -> None:
    def price(sku: str, start: datetime, end: datetime | None, value: float) -> dict[str, Any]:
        v = Decimal(str(value))
        return {"price_start_time": start, "price_end_time": end, "sku_name": sku, "cloud": "AWS", "currency_code": "USD",
                "usage_unit": "DBU", "pricing": {"default": v, "promotional": {"default": v}, "effective_list": {"default": v}}}

    change = END - timedelta(days=3)
    prices = [price("PREMIUM_JOBS_COMPUTE", datetime(2023, 1, 1), change, 0.15),
              price("PREMIUM_JOBS_COMPUTE", change, None, JOBS_PRICE),
              price("PREMIUM_ALL_PURPOSE_COMPUTE", datetime(2023, 1, 1), None, AP_PRICE)]
    usage = [{"workspace_id": WS, "record_id": f"ap-{d}-{h}", "sku_name": "PREMIUM_ALL_PURPOSE_COMPUTE", "cloud": "AWS",
              "usage_start_time": END - timedelta(days=d, hours=-h), "usage_end_time": END - timedelta(days=d, hours=-h - 1),
              "usage_quantity": Decimal(AP_DBU_PER_HOUR), "usage_unit": "DBU", "billing_origin_product": "ALL_PURPOSE",
              "usage_metadata": {"cluster_id": "ap1"}, "record_type": "ORIGINAL"}
             for d in range(1, 7) for h in range(7, 17)]
    for table, rows in (("compute.clusters", clusters), ("billing.list_prices", prices), ("billing.usage", usage),
                        ("compute.node_types", [{"node_type": NODE, "core_count": 4.0, "memory_mb": 16384}])):
        write_table(spark, root, table, rows_frame(spark, table, rows), overwrite=True)


def _write(spark: SparkSession, config: Config, table: str, rows: list[dict[str, Any]]) -> None:
    """A crafted output table written whole (a plain Delta write: cheaper than a first MERGE)."""
    spec = OUTPUT_TABLES[table]
    ddl = ", ".join(f"`{c.name}` {c.type}" for c in spec.columns)
    df = spark.createDataFrame([tuple(r.get(c) for c in spec.column_names) for r in rows], ddl)
    df.write.format("delta").save(str(TableLocator(config).output(table).path))


def _recommendation(row: dict[str, Any]) -> Recommendation:
    return Recommendation(
        kind=row["kind"], workspace_id=row["workspace_id"], job_id=row["job_id"], cluster_id=row["cluster_id"],
        job_name=row["job_name"], current=row["current_config"], proposed=row["proposed"],
        proposed_change=row["proposed_change"], confidence=row["confidence"],
        monthly_savings=row["estimated_monthly_savings"], monthly_cost=row["monthly_cost"], currency=row["currency"],
        p95_minutes=row["p95_minutes"], predicted_p95_minutes=row["predicted_p95_minutes"],
        duration_risk=row["duration_risk"], evidence=json.loads(row["evidence"]))


@pytest.fixture(scope="module")
def stage(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("recs")
    config = load_config_from_dict({"local": {"warehouse_path": str(root / "wh"), "system_tables_path": str(root / "sys")}})
    runs, minutes, costs, clusters = _tables()
    _system(spark, str(root / "sys"), clusters)
    _write(spark, config, "job_monitoring", runs)
    _write(spark, config, "resource_metrics", minutes)
    _write(spark, config, "job_costs", costs)
    orchestrator = DataOpsOrchestrator(spark, config, progress=lambda m: None)
    first = orchestrator.run_stage("recommendations", Interval(END - timedelta(minutes=30), END))
    table = read_output(spark, TableLocator(config), "job_recommendations")
    assert table is not None
    rows = [r.asDict() for r in table.collect()]
    # A week later the evaluation finds the same, except the idle job (fixed meanwhile): written
    # directly (the evidence path is the one above).
    week = END + timedelta(days=7)
    again = [_recommendation(r) for r in rows if r["job_id"] != "idle"]
    write_recommendations(spark, TableLocator(config), again, week - timedelta(days=14), week)
    table = read_output(spark, TableLocator(config), "job_recommendations")  # the new snapshot
    assert table is not None
    after = [r.asDict() for r in table.collect()]
    return {"first": first, "rows": rows, "after": after}


def _by(rows: list[dict[str, Any]]) -> dict[tuple[str | None, str], dict[str, Any]]:
    return {(r["job_id"] or r["cluster_id"], r["kind"]): r for r in rows}


def test_each_job_gets_its_kind_and_only_it(stage: dict[str, Any]) -> None:
    found = sorted(_by(stage["rows"]))
    assert found == [("ap1", "idle_time"), ("apjob", "all_purpose_compute"), ("bursty", "autoscaling_bounds"),
                     ("idle", "idle_time"), ("mem", "memory_pressure"), ("over", "over_provisioned_workers")]
    assert stage["first"]["evaluated"] is True
    assert stage["first"]["recommendations"] == 6


def test_over_provisioned_right_size_savings_and_evidence(stage: dict[str, Any]) -> None:
    rec = _by(stage["rows"])["over", "over_provisioned_workers"]
    assert rec["proposed_change"] == "num_workers 8 → 3"
    monthly = 6 * DBUS_PER_RUN * JOBS_PRICE * MONTH  # today's price, not the one billed
    assert rec["monthly_cost"] == pytest.approx(monthly, abs=0.01)
    assert rec["estimated_monthly_savings"] == pytest.approx(monthly * 5 / 9, abs=0.01)
    evidence = json.loads(rec["evidence"])
    assert evidence["runs"] == 6
    assert evidence["cpu_percentile_busy"] == pytest.approx(25.0)
    assert rec["duration_risk"] == "none"
    assert rec["period"].isoformat() == "2025-05-26"  # Monday of the evaluation's week


def test_other_kinds_figures(stage: dict[str, Any]) -> None:
    by = _by(stage["rows"])
    assert by["bursty", "autoscaling_bounds"]["proposed"] == "autoscale 2-8"
    mem = by["mem", "memory_pressure"]
    assert mem["proposed_change"].startswith("num_workers 2 → 3")
    assert json.loads(mem["evidence"])["memory_failures"] == 2
    idle = by["idle", "idle_time"]
    assert idle["estimated_monthly_savings"] == pytest.approx(6 * DBUS_PER_RUN * JOBS_PRICE * MONTH * 15 / 35, abs=0.01)
    ap = by["apjob", "all_purpose_compute"]
    dbus = 6 * (20 / 60) * AP_DBU_PER_HOUR * MONTH
    assert ap["estimated_monthly_savings"] == pytest.approx(dbus * (AP_PRICE - JOBS_PRICE), abs=0.01)
    cluster = by["ap1", "idle_time"]
    assert cluster["job_id"] is None
    assert cluster["estimated_monthly_savings"] == pytest.approx(60 * AP_DBU_PER_HOUR * AP_PRICE * MONTH * 120 / 140,
                                                                 abs=0.05)


def test_history_kept_one_current_row_per_job_and_kind(stage: dict[str, Any]) -> None:
    after = stage["after"]
    assert len(after) == 11  # six recommendations in the first week, five in the next
    current = [r for r in after if r["is_current"]]
    assert sorted(_by(current)) == sorted(k for k in _by(stage["rows"]) if k[0] != "idle")
    assert {r["period"].isoformat() for r in current} == {"2025-06-02"}
    old = [r for r in after if not r["is_current"]]
    assert {r["period"].isoformat() for r in old} == {"2025-05-26"}
    assert len(old) == 6


def test_evaluation_cadence() -> None:
    assert evaluation_due(None, END, 24.0)
    assert not evaluation_due(END, END + timedelta(hours=23), 24.0)
    assert evaluation_due(END, END + timedelta(hours=24), 24.0)
    assert evaluation_due(END, END + timedelta(minutes=1), 0.0)
