"""Detection quality on a simulated workspace: precision, recall and delay per incident type.

    .venv/bin/python benchmarks/detection_benchmark.py [--jobs 60] [--days 21] [--seed 7] [--path DIR]

Simulates a workspace with injected incidents (``_ground_truth.json``), runs one monitoring cycle
over the whole period (collect runs, metrics and costs, then health and anomalies) and matches the
anomalies to the incidents. Prints figures; asserts nothing.

Matching: an anomaly matches an incident of its family (below) on the same job when it names one
of the incident's runs or clusters, or is detected between the incident start and its end (+1 day).
Precision = matching anomalies / anomalies of the incident-typed detectors; types that no incident
labels (new termination codes, retry storms, disk/network series) are counted separately.
Recall = incidents with a matching anomaly / incidents that affected at least one run. "Evaluable"
excludes incidents that began before their job had ``anomaly.min_history_runs`` runs (a causal
history-based detector cannot judge those) and failure streaks with fewer than two failed runs
finished by the end of the simulation (a streak still going on at the end, e.g. the first failure of
a weekly job: one failure is not a streak for any rule). Delay: affected runs finished up to the
first detection (1 = found on the first affected run), and minutes from the first affected run's
start.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

FAMILIES: dict[str, set[str]] = {
    "duration_regression": {"duration_regression", "duration_level_shift_accepted"},
    "failure_streak": {"failure_streak"},
    "memory_leak": {"memory_saturation_forecast", "memory_saturated", "resource_memory_utilization"},
    "cpu_saturation": {"cpu_saturation", "resource_cpu_utilization"},
    "cost_spike": {"cost_spike", "cost_level_shift_accepted"},
}
HISTORY_BASED = {"duration_regression", "cost_spike"}
END = datetime(2025, 6, 1)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=60)
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--path", default=None, help="work directory (default: a fresh temporary one)")
    p.add_argument("--reuse", action="store_true", help="reuse a simulation already in --path")
    return p.parse_args()


def _cycle(spark: Any, root: Path, args: argparse.Namespace) -> tuple[Any, Any]:
    from dataops_jobs.collectors.base import Interval
    from dataops_jobs.config import load_config_from_dict
    from dataops_jobs.cycle import DataOpsOrchestrator
    from dataops_jobs.simulator import simulate_workspace

    system = root / "system"
    if not (args.reuse and (system / "_ground_truth.json").exists()):
        t0 = time.monotonic()
        summary = simulate_workspace(spark, str(system), jobs=args.jobs, days=args.days, seed=args.seed, end=END)
        print(f"simulated {summary.runs} runs, {summary.incidents} incidents in {time.monotonic() - t0:.0f} s")
    config = load_config_from_dict({
        "local": {"warehouse_path": str(root / "warehouse"), "system_tables_path": str(system)},
        "collection": {"lookback_days": args.days + 1},
    })
    orchestrator = DataOpsOrchestrator(spark, config)
    interval = Interval(END - timedelta(days=args.days), END)
    for stage in ("collect_runs", "collect_metrics", "health", "anomalies"):
        t0 = time.monotonic()
        orchestrator.run_stage(stage, interval)
        print(f"stage {stage}: {time.monotonic() - t0:.0f} s")
    return config, orchestrator.locator


def _matches(anomaly: dict[str, Any], incident: dict[str, Any]) -> bool:
    if anomaly["anomaly_type"] not in FAMILIES[incident["type"]]:
        return False
    if (anomaly["workspace_id"], anomaly["job_id"]) != (incident["workspace_id"], incident["job_id"]):
        return False
    if anomaly["run_id"] in incident["affected_run_ids"] or anomaly["cluster_id"] in incident["cluster_ids"]:
        return True
    start = datetime.fromisoformat(incident["start"]).replace(tzinfo=None)
    end = datetime.fromisoformat(incident["end"]).replace(tzinfo=None) if incident["end"] else END
    return bool(start <= anomaly["detected_at"] <= end + timedelta(days=1))


def _delay(incident: dict[str, Any], hits: list[dict[str, Any]], runs: dict[str, Any]) -> tuple[int, float] | None:
    affected = sorted((runs[r] for r in incident["affected_run_ids"] if r in runs), key=lambda r: r["start_time"])
    if not hits or not affected:
        return None
    first = min(h["detected_at"] for h in hits)
    done = sum(1 for r in affected if r["end_time"] is not None and r["end_time"] <= first)
    return max(done, 1), (first - affected[0]["start_time"]).total_seconds() / 60


def _prior_runs(incident: dict[str, Any], runs_by_job: dict[tuple[str, str], list[datetime]]) -> int:
    start = datetime.fromisoformat(incident["start"]).replace(tzinfo=None)
    return sum(1 for t in runs_by_job[(incident["workspace_id"], incident["job_id"])] if t < start)


def _saturation_lead(spark: Any, locator: Any, incident: dict[str, Any], hits: list[dict[str, Any]]) -> str:
    """Minutes between the first memory alarm and the first minute at >= 95 % on the incident's clusters."""
    from pyspark.sql import functions as F

    from dataops_jobs.io import read_output

    metrics = read_output(spark, locator, "resource_metrics")
    if metrics is None or not hits or not incident["cluster_ids"]:
        return "n/a"
    row = (metrics.where(F.col("cluster_id").isin(incident["cluster_ids"])
                         & (F.coalesce("memory_utilization_max", "memory_utilization") >= 95))
           .agg(F.min("timestamp").alias("t")).first())
    if row is None or row["t"] is None:
        return "never saturated"
    lead = (row["t"] - min(h["detected_at"] for h in hits)).total_seconds() / 60
    return f"{lead:+.0f} min before saturation" if lead > 0 else f"{-lead:.0f} min after saturation"


def _evaluable(kind: str, incident: dict[str, Any], runs: dict[str, Any],
               runs_by_job: dict[tuple[str, str], list[datetime]], min_history: int) -> tuple[bool, str]:
    """Whether a causal detector could have found the incident by the end; else why not."""
    if kind in HISTORY_BASED and _prior_runs(incident, runs_by_job) < min_history:
        return False, "too little history"
    if kind == "failure_streak":
        done = sum(1 for r in incident["affected_run_ids"] if r in runs and runs[r]["end_time"] is not None)
        if done < 2:
            return False, f"{done} failed run(s) by the end"
    return True, ""


def _report(spark: Any, locator: Any, root: Path, min_history: int) -> None:
    from pyspark.sql import functions as F

    from dataops_jobs.io import read_output

    incidents = json.loads((root / "system" / "_ground_truth.json").read_text())
    anomalies_df = read_output(spark, locator, "job_anomalies")
    anomalies = [r.asDict() for r in anomalies_df.collect()] if anomalies_df is not None else []
    runs_df = read_output(spark, locator, "job_monitoring")
    assert runs_df is not None
    wanted = sorted({r for i in incidents for r in i["affected_run_ids"]})
    runs = {r["run_id"]: r.asDict() for r in runs_df.where(F.col("run_id").isin(wanted)).select(
        "run_id", "start_time", "end_time").collect()}
    runs_by_job: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for r in runs_df.where(F.col("end_time").isNotNull()).select("workspace_id", "job_id", "start_time").collect():
        runs_by_job[(r["workspace_id"], r["job_id"])].append(r["start_time"])
    print(f"\n{len(anomalies)} anomalies, {len(incidents)} incidents in the ground truth")
    _precision(anomalies, incidents)
    _recall(spark, locator, anomalies, incidents, runs, runs_by_job, min_history)


def _precision(anomalies: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> None:
    typed = set().union(*FAMILIES.values())
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in anomalies:
        hit = any(_matches(a, i) for i in incidents)
        per_type[a["anomaly_type"]][0] += int(hit)
        per_type[a["anomaly_type"]][1] += 1
    print("\nprecision by anomaly type (matching / emitted)")
    for kind, (tp, n) in sorted(per_type.items()):
        label = "" if kind in typed else "   (no incident type labels it)"
        print(f"  {kind:32s} {tp:4d} / {n:4d} = {tp / n:.2f}{label}")
    tp = sum(v[0] for k, v in per_type.items() if k in typed)
    n = sum(v[1] for k, v in per_type.items() if k in typed)
    all_n = sum(v[1] for v in per_type.values())
    print(f"  precision, incident-typed detectors: {tp}/{n} = {tp / max(n, 1):.3f}")
    print(f"  precision, every anomaly emitted:    {tp}/{all_n} = {tp / max(all_n, 1):.3f}")


def _recall(spark: Any, locator: Any, anomalies: list[dict[str, Any]], incidents: list[dict[str, Any]],
            runs: dict[str, Any], runs_by_job: dict[tuple[str, str], list[datetime]], min_history: int) -> None:
    print("\nrecall and delay by incident type")
    totals = [0, 0, 0, 0]
    for kind in FAMILIES:
        rows = [i for i in incidents if i["type"] == kind and i["affected_run_ids"]]
        found = evaluable = found_eval = 0
        delays: list[str] = []
        for inc in rows:
            hits = [a for a in anomalies if _matches(a, inc)]
            ok, why = _evaluable(kind, inc, runs, runs_by_job, min_history)
            found, evaluable, found_eval = found + bool(hits), evaluable + ok, found_eval + (ok and bool(hits))
            delay = _delay(inc, hits, runs)
            note = f"run {delay[0]}, {delay[1]:.0f} min" if delay else "missed"
            if kind == "memory_leak":
                note += f", {_saturation_lead(spark, locator, inc, hits)}"
            delays.append(f"{inc['incident_id']}: {note}{'' if ok else f' (not evaluable: {why})'}")
        totals = [totals[0] + found, totals[1] + len(rows), totals[2] + found_eval, totals[3] + evaluable]
        print(f"  {kind:20s} recall {found}/{len(rows)} = {found / max(len(rows), 1):.2f}; "
              f"evaluable {found_eval}/{evaluable} = {found_eval / max(evaluable, 1):.2f}")
        for line in delays:
            print(f"      {line}")
    print(f"  overall recall {totals[0]}/{totals[1]} = {totals[0] / max(totals[1], 1):.3f}; "
          f"evaluable {totals[2]}/{totals[3]} = {totals[2] / max(totals[3], 1):.3f}")


def main() -> None:
    """Simulate, run one cycle, print precision, recall and delay."""
    from dataops_jobs.session import get_spark

    args = _args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers must import dataops_jobs
    root = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="dataops-detect-"))
    print(f"workspace: {args.jobs} jobs, {args.days} days, seed {args.seed}, ending {END:%Y-%m-%d}; dir {root}")
    spark = get_spark(master="local[2]", app_name="detection-benchmark", shuffle_partitions=4)
    began = time.monotonic()
    config, locator = _cycle(spark, root, args)
    _report(spark, locator, root, config.anomaly.min_history_runs)
    print(f"\ntotal {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
