"""Benchmark (prints figures, asserts nothing): a full monitoring cycle, then an incremental one.

    python benchmarks/cycle_benchmark.py --jobs 1000 --days 90     # the large workspace
    python benchmarks/cycle_benchmark.py --jobs 200 --days 30      # the demo's size

It simulates a workspace, runs the collect stages (and the analyses when installed) over it, appends
one simulated day and runs an incremental cycle, printing rows read and seconds for each.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from dataops_jobs import simulator
from dataops_jobs.collectors import Interval
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.cycle import DataOpsOrchestrator, utc_naive
from dataops_jobs.session import get_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the tables here (default: a temp dir)")
    parser.add_argument("--collect-only", action="store_true", help="skip health and anomaly stages")
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="dataops-bench-"))
    started = time.monotonic()
    spark = get_spark(master=args.master, shuffle_partitions=args.shuffle_partitions, driver_memory="4g")
    print(f"spark session: {time.monotonic() - started:.1f} s")
    sim = simulator.simulate_workspace(spark, str(root / "system"), jobs=args.jobs, days=args.days, seed=args.seed)
    print(f"simulate {args.jobs} jobs x {args.days} days: {sim.runs} runs, "
          f"{sum(sim.row_counts.values()):,} system-table rows in {sim.seconds:.1f} s")
    config = load_config_from_dict({
        "local": {"system_tables_path": str(root / "system"), "warehouse_path": str(root / "warehouse"),
                  "shuffle_partitions": args.shuffle_partitions},
        "collection": {"lookback_days": args.days + 1},
    })
    orchestrator = DataOpsOrchestrator(spark, config, progress=lambda m: None)
    if args.collect_only:
        orchestrator.processors = []
    stages = tuple(s for s in ("collect_runs", "collect_metrics", "health", "anomalies")
                   if s.startswith("collect") or not args.collect_only)
    for label, end in (("full", sim.end), ("incremental", None)):
        if end is None:
            appended = simulator.append_day(spark, str(root / "system"))
            print(f"append one day: {appended.runs} runs in {appended.seconds:.1f} s")
            end = appended.end
        summary = orchestrator.run_cycle(Interval(utc_naive(end), utc_naive(end)), stages)
        figures = summary.to_dict()
        print(f"{label} cycle: {figures['rows_read']:,} source rows read ({figures['rows_new']:,} new) "
              f"in {figures['seconds']:.1f} s")
        for stage, result in figures["stages"].items():
            print(f"  {stage:<16} {result['seconds']:>7.1f} s  read {result.get('rows_read', {})}")
    if args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
