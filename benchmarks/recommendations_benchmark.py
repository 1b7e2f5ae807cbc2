"""Benchmark (prints figures, asserts nothing): recommendations against the simulator's labelled jobs.

    .venv/bin/python benchmarks/recommendations_benchmark.py                 # 40 jobs x 21 days
    .venv/bin/python benchmarks/recommendations_benchmark.py --jobs 200 --days 30

Simulates a workspace (the labelled sizing jobs are indices 20-25, ``dataops_jobs.simulator.sizing``),
runs one cycle with ``dataops run`` (every stage, the recommendations evaluated at the simulation
end) and reads ``job_recommendations`` back with deltalake, and prints, per
labelled job, what was recommended against the right answer:

- every over-provisioned job found with the right worker count, savings within 10 % of the truth;
- no recommendation for the well-sized job;
- memory pressure for the memory-starved job, autoscaling bounds for the bursty one.

The true saving is computed from the simulator's own plans, not from the tables: the billed hours
of the runs in the evidence window x (workers - right workers) x the worker's DBU rate x today's
list price, per 30 days.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

TOLERANCE = 0.10


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=40)
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end", type=datetime.fromisoformat, default=datetime(2025, 6, 1))
    p.add_argument("--workdir", type=Path, default=None)
    return p.parse_args()


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def true_savings(seed: int, jobs: int, days: int, end: datetime, label: dict[str, Any], lookback_days: int) -> float:
    """Per-30-day saving of the right size, from the simulator's plans (billed hours of the window's runs)."""
    from dataops_jobs.simulator import constants as c
    from dataops_jobs.simulator.billing import hours_overlapping
    from dataops_jobs.simulator.catalog import SimConfig, build_job
    from dataops_jobs.simulator.incidents import plan_incidents
    from dataops_jobs.simulator.runs import plan_day

    stop = end.replace(tzinfo=timezone.utc)
    cfg = SimConfig(seed, jobs, 2, stop - timedelta(days=days))
    job = build_job(cfg, label["index"])
    incidents = plan_incidents(cfg, [job], days)[job.index]
    lo = stop - timedelta(days=lookback_days)
    hours = 0.0
    for day in range(days):
        for plan in plan_day(cfg, job, day, incidents):
            last = plan.attempts[-1]
            if not (lo < plan.attempts[0].start <= stop) or last.end > stop:
                continue
            hours += sum(s for a in plan.attempts if a.result_state != "SKIPPED"
                         for _, s in hours_overlapping(a.cluster_start, a.end)) / 3600.0
    price = next(float(p.new_price or p.price) for p in c.PRICES if p.sku == c.SKU_JOBS)
    saved_workers = label["workers"] - label["right_workers"]
    return hours * saved_workers * label["node_dbu_per_hour"] * price * 30.0 / lookback_days


def _write_config(root: Path, days: int) -> Path:
    """The operator's YAML: where the system tables and the warehouse are, the first cycle's reach."""
    path = root / "dataops.yaml"
    path.write_text(
        "environment: benchmark\n"
        f"local:\n  system_tables_path: {root / 'system'}\n  warehouse_path: {root / 'warehouse'}\n"
        f"collection:\n  lookback_days: {days + 1}\nlogging:\n  json: false\n"
    )
    return path


def _simulate(root: Path, args: argparse.Namespace, config_path: Path) -> Any:
    """The labelled workspace (set-up, not measured): its own short Spark session, stopped before the cycle."""
    from dataops_jobs import simulator
    from dataops_jobs.config import load_config
    from dataops_jobs.session import spark_for

    spark = spark_for(load_config(config_path), target="local")
    try:
        return simulator.simulate_workspace(spark, str(root / "system"), jobs=args.jobs, days=args.days,
                                            seed=args.seed, end=args.end)
    finally:
        spark.stop()


def _dataops_run(config_path: Path, end: datetime) -> str:
    """One cycle through the product's own command, ``dataops run`` (every stage; no alert stage)."""
    dataops = Path(sys.executable).with_name("dataops")
    cmd = [str(dataops), "run", "--config", str(config_path), "--no-alerts", "--interval-end", end.isoformat()]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-6000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"dataops run failed (exit {done.returncode}): {' '.join(cmd)}")
    return done.stdout


def _current_recommendations(config: Any) -> list[dict[str, Any]]:
    """The current rows of ``job_recommendations``, read as the dashboard reads them (deltalake, no JVM)."""
    from deltalake import DeltaTable

    from dataops_jobs.io import TableLocator

    path = TableLocator(config).output("job_recommendations").path
    if path is None or not Path(path).exists():
        return []
    return [r for r in DeltaTable(path).to_pyarrow_table().to_pylist() if r["is_current"]]


def main() -> None:
    """Simulate, run one cycle with ``dataops run``, compare with the labels."""
    from dataops_jobs.config import load_config

    args = _args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="dataops-recs-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"start: {_load()} on {os.cpu_count()} cores; dir {root}")
    config_path = _write_config(root, args.days)
    config = load_config(config_path)
    sim = _simulate(root, args, config_path)
    labels = json.loads((root / "system" / "_sizing_labels.json").read_text())
    print(f"{args.jobs} jobs x {args.days} days: {sim.runs:,} runs; {len(labels)} labelled jobs")
    t0 = time.monotonic()
    out = _dataops_run(config_path, sim.end)
    print(f"dataops run: {time.monotonic() - t0:.1f} s ({_load()})")
    print(*(f"  | {line}" for line in out.splitlines() if "recommendations" in line or "save" in line), sep="\n")
    rows = _current_recommendations(config)
    by_job: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_job.setdefault(r["job_id"] or r["cluster_id"], []).append(r)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(rows)} current recommendations: {kinds}")
    lookback = config.recommendations.lookback_days
    found = ok = 0
    for label in labels:
        recs = by_job.get(label["job_id"], [])
        got = {r["kind"]: r for r in recs}
        line = f"  job {label['index']:>3} {label['label']:<17} {label['workers']} x {label['node_type']:<12}"
        if label["label"] == "over_provisioned":
            truth = true_savings(args.seed, args.jobs, args.days, args.end, label, lookback)
            rec = got.get("over_provisioned_workers")
            if rec is None:
                print(f"{line} MISSED (right size {label['right_workers']}); got {sorted(got)}")
                continue
            found += 1
            proposed = int(rec["proposed"].split()[-1])
            error = rec["estimated_monthly_savings"] / truth - 1.0
            good = proposed == label["right_workers"] and abs(error) <= TOLERANCE
            ok += good
            print(f"{line} {rec['proposed_change']:<22} (right {label['right_workers']})  savings "
                  f"{rec['estimated_monthly_savings']:8.2f} vs true {truth:8.2f} ({error:+.1%})  "
                  f"{'OK' if good else 'OFF'}")
        else:
            expected = {"well_sized": set(), "memory_pressure": {"memory_pressure"},
                        "autoscaling": {"autoscaling_bounds"}}[label["label"]]
            sizing = {k for k in got if k != "idle_time"}
            verdict = "OK" if sizing == expected else "OFF"
            detail = "; ".join(f"{k}: {r['proposed_change']} ({r['estimated_monthly_savings']:.2f})"
                               for k, r in sorted(got.items()))
            print(f"{line} expected {sorted(expected) or 'no sizing change'}: {detail or 'none'}  {verdict}")
    over = sum(1 for lbl in labels if lbl["label"] == "over_provisioned")
    print(f"\nover-provisioned found {found}/{over}, right size and savings within {TOLERANCE:.0%}: {ok}/{over}")
    print(f"end: {_load()}")
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
