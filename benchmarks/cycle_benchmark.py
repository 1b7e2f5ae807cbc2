"""Benchmark (prints figures, asserts nothing): cycle cost against a bare scan of its inputs.

    .venv/bin/python benchmarks/cycle_benchmark.py                              # 1000 jobs x 30 days
    .venv/bin/python benchmarks/cycle_benchmark.py --history-days 90            # + growth with history
    .venv/bin/python benchmarks/cycle_benchmark.py --jobs 30 --days 10 --history-days 20   # smoke run

One process, one Spark session (its start is timed apart). For the workspace of ``--days`` days it
prints, each timed in-process:

(a) a bare scan: every system table the collectors read (``SCANNED``), all columns, read whole
    through Spark's ``noop`` sink -- the floor any cycle over these inputs pays;
(b) the first cycle (no watermark: collection and analyses backfill), every stage of
    ``DataOpsOrchestrator.run_cycle`` -- collect_runs, collect_metrics, health, anomalies, sla;
(c) ``--incremental-cycles`` times: append one simulated day, run the next cycle (incremental);

then incremental / full (target <= 10 %) and full / scan (target <= 3x), and what the
``recommendations`` stage adds to the one-new-day cycle (its evaluation is due once a day, so
this is its most expensive cycle; target <= 15 %). With ``--history-days H``
it repeats the whole for a workspace of H days and prints the one-new-day cycle at H days against
the one at ``--days`` days (target <= +20 %). Cycles run like ``dataops run``: interval start =
end = the simulation end. ``sla.jobs`` gets ``--sla-jobs`` SLAs so the sla stage has work to do.
The load average is printed at start, before each timed step and at the end: on a shared
machine, figures taken under load are not comparable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: ``storage.sources`` names read by the collectors (dataops_jobs/collectors: jobs.py, metrics.py,
#: costs.py). ``compute.clusters``, ``compute.node_types`` and ``lakeflow.job_tasks`` are simulated
#: but read by no collector, so they are not part of the cycle's inputs.
SCANNED = ("job_run_timeline", "job_task_run_timeline", "jobs", "node_timeline", "usage", "list_prices")
INCREMENTAL_TARGET = 0.10
SCAN_TARGET = 3.0
HISTORY_TARGET = 0.20
RECOMMENDATIONS_TARGET = 0.15


@dataclass
class Measured:
    """Seconds measured on one simulated workspace."""

    days: int
    scan: list[float] = field(default_factory=list)
    full: float = 0.0
    incremental: list[float] = field(default_factory=list)
    recommendations: list[float] = field(default_factory=list)

    @property
    def one_day(self) -> float:
        """The one-new-day cycle: the median over the incremental cycles run."""
        return statistics.median(self.incremental)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--history-days", type=int, default=None,
                   help="also measure a workspace with this many days of history (e.g. 90)")
    p.add_argument("--incremental-cycles", type=int, default=1,
                   help="one-new-day cycles per workspace (the median is used in the ratios)")
    p.add_argument("--scan-repeats", type=int, default=2,
                   help="bare scans per workspace (the fastest is used: the conservative ratio)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--end", type=datetime.fromisoformat, default=datetime(2025, 6, 1),
                   help="simulation end, UTC midnight (fixed so runs are comparable)")
    p.add_argument("--sla-jobs", type=int, default=50, help="jobs given an SLA in sla.jobs")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--shuffle-partitions", type=int, default=4)
    p.add_argument("--driver-memory", default="2g", help="as local.driver_memory (config/base.yaml: 2g)")
    p.add_argument("--driver-java-options", default=None,
                   help="as local.driver_java_options (default: the product's, C1-only JIT and serial GC)")
    p.add_argument("--workdir", type=Path, default=None, help="keep the tables here (default: a temp dir)")
    return p.parse_args()


def _load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _config(args: argparse.Namespace, root: Path, days: int, sla_job_ids: list[str]) -> Any:
    from dataops_jobs.config import load_config_from_dict

    return load_config_from_dict({
        "local": {"system_tables_path": str(root / "system"), "warehouse_path": str(root / "warehouse"),
                  "spark_master": args.master, "shuffle_partitions": args.shuffle_partitions,
                  "driver_memory": args.driver_memory,
                  **({"driver_java_options": args.driver_java_options} if args.driver_java_options else {})},
        "collection": {"lookback_days": days + 1},
        "sla": {"jobs": [{"job_id": j, "max_duration_minutes": 60, "finish_by": "06:00"} for j in sla_job_ids]},
    })


def _sla_job_ids(spark: Any, config: Any, n: int) -> list[str]:
    from dataops_jobs.io import TableLocator, read_table

    jobs = read_table(spark, TableLocator(config).source("jobs")).select("job_id").distinct()
    return sorted(str(r["job_id"]) for r in jobs.orderBy("job_id").limit(n).collect())


def _scan(spark: Any, config: Any) -> float:
    """Read every input table whole (all columns) through the ``noop`` sink; seconds."""
    from dataops_jobs.io import TableLocator, read_table

    locator = TableLocator(config)
    took: dict[str, float] = {}
    started = time.monotonic()
    for name in SCANNED:
        t0 = time.monotonic()
        read_table(spark, locator.source(name)).write.format("noop").mode("overwrite").save()
        took[name] = time.monotonic() - t0
    total = time.monotonic() - started
    print(f"  bare scan {total:7.1f} s  ({', '.join(f'{k} {v:.1f}' for k, v in took.items())})")
    return total


def _cycle(orchestrator: Any, end: datetime, label: str, stage_seconds: list[float] | None = None) -> float:
    """One cycle as ``dataops run --interval-end END`` runs it; prints per-stage figures; seconds.
    ``stage_seconds`` gets the seconds of the recommendations stage."""
    from dataops_jobs.collectors import Interval
    from dataops_jobs.cycle import utc_naive

    print(f"  {label} ({_load()}) ...", flush=True)
    figures = orchestrator.run_cycle(Interval(utc_naive(end), utc_naive(end))).to_dict()
    print(f"  {label} {figures['seconds']:7.1f} s  {figures['rows_read']:,} source rows read "
          f"({figures['rows_new']:,} new)")
    for stage, res in figures["stages"].items():
        reads = ", ".join(f"{k}={v:,}" for k, v in res.get("rows_read", {}).items())
        written = res.get("rows_written") or {k: res[k] for k in ("evaluated_runs", "breaches") if k in res}
        mode = _mode(res)
        print(f"      {stage:<16} {res.get('seconds', 0.0):7.1f} s  {mode:<12} read {reads or '-'}; "
              f"{', '.join(f'{k}={v:,}' for k, v in written.items()) or '-'}")
    if stage_seconds is not None:
        stage_seconds.append(float(figures["stages"].get("recommendations", {}).get("seconds", 0.0)))
    return float(figures["seconds"])


def _mode(stage: dict[str, Any]) -> str:
    """incremental / backfill, from the collectors' flag or the analyses' ``since`` detail."""
    if stage.get("rows_read"):
        return "incremental" if stage.get("incremental") else "backfill"
    details = list(stage.get("details", {}).values())
    if any("skipped" in d for d in details) or stage.get("skipped"):
        return "skipped"
    if details:
        return "backfill" if all(d.get("since") is None for d in details) else "incremental"
    return ""


def _workspace(spark: Any, args: argparse.Namespace, root: Path, days: int) -> Measured:
    """Simulate ``days`` days, scan, run the first cycle, then the one-new-day cycles."""
    from dataops_jobs import simulator
    from dataops_jobs.cycle import DataOpsOrchestrator

    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} is not empty: give a fresh --workdir (a warehouse there has watermarks)")
    system = str(root / "system")
    sim = simulator.simulate_workspace(spark, system, jobs=args.jobs, days=days, seed=args.seed, end=args.end)
    print(f"\n{args.jobs} jobs x {days} days (seed {args.seed}, ending {sim.end:%Y-%m-%d}): {sim.runs:,} runs, "
          f"{sum(sim.row_counts.values()):,} system-table rows, {_disk_mb(root / 'system'):.0f} MB, "
          f"simulated in {sim.seconds:.1f} s")
    config = _config(args, root, days, _sla_job_ids(spark, _config(args, root, days, []), args.sla_jobs))
    measured = Measured(days)
    for i in range(args.scan_repeats):
        print(f"  scan {i + 1} ({_load()}) ...", flush=True)
        measured.scan.append(_scan(spark, config))
    orchestrator = DataOpsOrchestrator(spark, config, progress=lambda m: None)
    measured.full = _cycle(orchestrator, sim.end, "first cycle")
    for i in range(args.incremental_cycles):
        day = simulator.append_day(spark, system)
        print(f"  appended day {day.days}: {day.runs:,} runs, {sum(day.row_counts.values()):,} rows "
              f"in {day.seconds:.1f} s")
        measured.incremental.append(_cycle(orchestrator, day.end, f"one-new-day cycle {i + 1}",
                                           measured.recommendations))
    return measured


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*.parquet")) / 1e6


def _ratios(m: Measured) -> None:
    scan = min(m.scan)
    inc = m.one_day / m.full
    full = m.full / scan
    print(f"\n{m.days} days: bare scan {scan:.1f} s (fastest of {len(m.scan)}), first cycle {m.full:.1f} s, "
          f"one-new-day cycle {m.one_day:.1f} s (median of {len(m.incremental)})")
    print(f"  incremental / full = {inc:6.1%}   target <= {INCREMENTAL_TARGET:.0%}   "
          f"{'met' if inc <= INCREMENTAL_TARGET else 'NOT met'}")
    print(f"  full / scan        = {full:6.2f}x  target <= {SCAN_TARGET:.0f}x     "
          f"{'met' if full <= SCAN_TARGET else 'NOT met'}")
    if m.recommendations:
        rec = statistics.median(m.recommendations)
        added = rec / (m.one_day - rec)
        print(f"  recommendations stage adds {added:6.1%} to the one-new-day cycle ({rec:.1f} s, evaluation due)"
              f"   target <= {RECOMMENDATIONS_TARGET:.0%}   {'met' if added <= RECOMMENDATIONS_TARGET else 'NOT met'}")


def _growth(short: Measured, long: Measured) -> None:
    growth = long.one_day / short.one_day - 1
    print(f"\none-new-day cycle at {long.days} days vs at {short.days} days: {growth:+.1%} "
          f"({long.one_day:.1f} s vs {short.one_day:.1f} s)   target <= +{HISTORY_TARGET:.0%}   "
          f"{'met' if growth <= HISTORY_TARGET else 'NOT met'}")


def main() -> None:
    """Measure, print the figures and the ratios against their targets."""
    from dataops_jobs.session import spark_for

    args = _args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="dataops-bench-"))
    print(f"start: {_load()} on {os.cpu_count()} cores; master {args.master}, driver {args.driver_memory}, "
          f"{args.shuffle_partitions} shuffle partitions; dir {root}")
    config = _config(args, root, args.days, [])
    print(f"driver JVM options: {config.local.driver_java_options}")
    t0 = time.monotonic()
    spark = spark_for(config, target="local")
    spark.range(1).count()  # the JVM and the Python bridge are up, not just the builder
    print(f"spark session start: {time.monotonic() - t0:.1f} s")
    began = time.monotonic()
    results = [_workspace(spark, args, root / f"days{d}", d)
               for d in (args.days, args.history_days) if d is not None]
    for m in results:
        _ratios(m)
    if len(results) == 2:
        _growth(*results)
    print(f"\nend: {_load()}; measured in {time.monotonic() - began:.0f} s after the session start")
    spark.stop()
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
