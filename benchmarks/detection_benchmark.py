"""Detection quality through the product's command: precision, recall and delay per incident type.

    .venv/bin/python benchmarks/detection_benchmark.py [--jobs 60] [--days 21] [--seeds 101,102]
        [--new-days 1] [--path DIR] [--reuse]

For each seed (default 101, a seed not used while developing the detectors) it simulates a
workspace with injected incidents ending at ``--end`` (``_ground_truth.json``), then runs the cycle
exactly as an operator would, one process per step, with a temporary YAML config:

    dataops run --config CFG --interval-end END            # first cycle: backfill
    dataops simulate --config CFG --append-day             # one more simulated day
    dataops run --config CFG --interval-end END+1d         # incremental cycle (``--new-days`` times)

and prints each cycle's per-stage summary (the command's own lines), checking that the later cycles
backfilled nothing. Only then is Spark started here (one Spark process at a time) to read
``job_anomalies`` and score it against the ground truth. Prints figures; asserts nothing.

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
start. Delays are in event time (``detected_at``): how early the causal detectors can tell, not
when a once-a-day cycle ran. "Online" incidents began after the first cycle's end: only the
incremental cycles could find them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
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
EARLY_RUNS = 2
DATAOPS = Path(sys.executable).with_name("dataops")
#: Variables that would point ``dataops`` at another config or overlay than the temporary one.
FOREIGN_ENV = ("DATAOPS_CONFIG", "DATAOPS_ENV", "AIRFLOW__DATAOPS__CONFIG_PATH", "AIRFLOW__DATAOPS__ENVIRONMENT")
SIMULATE = """
import sys
from datetime import datetime
from dataops_jobs.config import load_config
from dataops_jobs.session import spark_for
from dataops_jobs.simulator import simulate_workspace
config = load_config(sys.argv[1])
jobs, days, seed, end = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), datetime.fromisoformat(sys.argv[5])
s = simulate_workspace(spark_for(config, target="local"), config.local.system_tables_path,
                       jobs=jobs, days=days, seed=seed, end=end)
print(f"simulated {s.runs} runs, {s.incidents} incidents, {sum(s.row_counts.values())} rows in {s.seconds:.0f} s")
"""


@dataclass
class Outcome:
    """How one incident fared: found or not, evaluable or why not, delay, history before it."""

    seed: int
    kind: str
    incident_id: str
    found: bool
    evaluable: bool
    why: str
    delay: tuple[int, float] | None
    prior_runs: int
    online: bool
    note: str = ""


@dataclass
class Score:
    """One seed's (or several seeds') matching: per anomaly type [matching, emitted], per incident."""

    per_type: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    outcomes: list[Outcome] = field(default_factory=list)
    anomalies: int = 0
    incidents: int = 0

    def add(self, other: Score) -> None:
        for kind, (tp, n) in other.per_type.items():
            self.per_type[kind][0] += tp
            self.per_type[kind][1] += n
        self.outcomes += other.outcomes
        self.anomalies += other.anomalies
        self.incidents += other.incidents


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=60)
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--seed", type=int, default=101, help="one seed (default 101: not used while developing)")
    p.add_argument("--seeds", default=None, help="comma-separated seeds, aggregated (overrides --seed)")
    p.add_argument("--new-days", type=int, default=1, help="simulated days appended, one cycle after each")
    p.add_argument("--end", type=datetime.fromisoformat, default=datetime(2025, 6, 1),
                   help="end of the simulation (UTC midnight) and of the first cycle")
    p.add_argument("--path", default=None, help="work directory (default: a fresh temporary one)")
    p.add_argument("--reuse", action="store_true", help="only score: the cycles already ran in --path")
    args = p.parse_args()
    args.seed_list = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    return args


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env["PYSPARK_PYTHON"] = sys.executable  # workers must import dataops_jobs
    return env


def _write_config(root: Path, days: int) -> Path:
    """The operator's YAML: where the system tables and the warehouse are, the first cycle's reach."""
    path = root / "dataops.yaml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "environment: benchmark\n"
        f"local:\n  system_tables_path: {root / 'system'}\n  warehouse_path: {root / 'warehouse'}\n"
        f"collection:\n  lookback_days: {days + 1}\n"
        "logging:\n  json: false\n"
    )
    return path


def _call(cmd: list[str], label: str) -> str:
    """Run one command (one Spark process); return its stdout; stop on failure with its stderr."""
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)
    print(f"  {label}: exit {done.returncode} in {time.monotonic() - t0:.0f} s "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    if "CodeCache is full" in done.stdout + done.stderr:
        print("    ! JVM: CodeCache is full, JIT compiler disabled for the rest of this process "
              "(local.driver_java_options)")
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-6000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"{label} failed: {' '.join(cmd)}")
    return done.stdout


def _show_cycle(stdout: str, number: int) -> None:
    """The command's per-stage summary and progress lines that say backfill or incremental."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "cycle summary" in line), len(lines))
    end = next((i for i, line in enumerate(lines) if line.startswith("jobs seen")), len(lines))
    progress = [line for line in lines[:start] if any(w in line for w in ("backfill", "since ", "incremental"))]
    for line in progress + lines[start + 1:end] + [ln for ln in lines if ln.startswith("anomalies found")]:
        print(f"    | {line}")
    if number > 1:
        backfilled = [line for line in progress if "backfill" in line]
        verdict = f"no, {len(backfilled)} stage(s) backfilled" if backfilled else "yes, no stage backfilled"
        print(f"    cycle {number} incremental: {verdict}")


def _cycles(seed: int, root: Path, args: argparse.Namespace) -> Path:
    """Simulate, then alternate ``dataops run`` and ``dataops simulate --append-day``."""
    config = _write_config(root, args.days)
    if args.reuse:
        return config
    cfg = ["--config", str(config)]
    out = _call([sys.executable, "-c", SIMULATE, str(config), str(args.jobs), str(args.days), str(seed),
                 args.end.isoformat()], f"simulate {args.jobs} jobs x {args.days} days, seed {seed}")
    print(f"    | {out.strip()}")
    for n in range(args.new_days + 1):
        if n:
            out = _call([str(DATAOPS), "simulate", *cfg, "--append-day"], "dataops simulate --append-day")
            print(*(f"    | {line}" for line in out.splitlines() if "done:" in line), sep="\n")
        end = args.end + timedelta(days=n)
        out = _call([str(DATAOPS), "run", *cfg, "--no-alerts", "--interval-end", end.isoformat()],
                    f"dataops run --interval-end {end.isoformat()} (cycle {n + 1})")
        _show_cycle(out, n + 1)
    return config


def _when(value: str | None, default: datetime) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else default


def _matches(anomaly: dict[str, Any], incident: dict[str, Any], end: datetime) -> bool:
    if anomaly["anomaly_type"] not in FAMILIES[incident["type"]]:
        return False
    if (anomaly["workspace_id"], anomaly["job_id"]) != (incident["workspace_id"], incident["job_id"]):
        return False
    if anomaly["run_id"] in incident["affected_run_ids"] or anomaly["cluster_id"] in incident["cluster_ids"]:
        return True
    start, stop = _when(incident["start"], end), _when(incident["end"], end)
    return bool(start <= anomaly["detected_at"] <= stop + timedelta(days=1))


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


@dataclass
class Tables:
    """What scoring one seed needs from its warehouse and ground truth."""

    seed: int
    spark: Any
    locator: Any
    incidents: list[dict[str, Any]]
    anomalies: list[dict[str, Any]]
    runs: dict[str, Any]
    runs_by_job: dict[tuple[str, str], list[datetime]]
    first_end: datetime
    end: datetime
    min_history: int


def _read(spark: Any, seed: int, config_path: Path, args: argparse.Namespace) -> Tables:
    from pyspark.sql import functions as F

    from dataops_jobs.config import load_config
    from dataops_jobs.io import TableLocator, read_output

    config = load_config(config_path, environ=_env())
    locator = TableLocator(config)
    system = Path(config.local.system_tables_path)
    incidents = json.loads((system / "_ground_truth.json").read_text())
    end = _when(json.loads((system / "_simulator.json").read_text())["end"], args.end)
    anomalies_df = read_output(spark, locator, "job_anomalies")
    anomalies = [r.asDict() for r in anomalies_df.collect()] if anomalies_df is not None else []
    runs_df = read_output(spark, locator, "job_monitoring")
    if runs_df is None:
        raise SystemExit(f"no job_monitoring table under {config.local.warehouse_path}: did the cycles run?")
    wanted = sorted({r for i in incidents for r in i["affected_run_ids"]})
    runs = {r["run_id"]: r.asDict() for r in runs_df.where(F.col("run_id").isin(wanted)).select(
        "run_id", "start_time", "end_time").collect()}
    runs_by_job: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for r in runs_df.where(F.col("end_time").isNotNull()).select("workspace_id", "job_id", "start_time").collect():
        runs_by_job[(r["workspace_id"], r["job_id"])].append(r["start_time"])
    return Tables(seed, spark, locator, incidents, anomalies, runs, runs_by_job, args.end, end,
                  config.anomaly.min_history_runs)


def _score(t: Tables) -> Score:
    score = Score(anomalies=len(t.anomalies), incidents=len(t.incidents))
    for a in t.anomalies:
        hit = any(_matches(a, i, t.end) for i in t.incidents)
        score.per_type[a["anomaly_type"]][0] += int(hit)
        score.per_type[a["anomaly_type"]][1] += 1
    for kind in FAMILIES:
        for inc in (i for i in t.incidents if i["type"] == kind and i["affected_run_ids"]):
            score.outcomes.append(_outcome(t, kind, inc))
    return score


def _outcome(t: Tables, kind: str, inc: dict[str, Any]) -> Outcome:
    hits = [a for a in t.anomalies if _matches(a, inc, t.end)]
    ok, why = _evaluable(kind, inc, t.runs, t.runs_by_job, t.min_history)
    delay = _delay(inc, hits, t.runs)
    note = f"run {delay[0]}, {delay[1]:.0f} min" if delay else "missed"
    if kind == "memory_leak":
        note += f", {_saturation_lead(t.spark, t.locator, inc, hits)}"
    online = _when(inc["start"], t.end) >= t.first_end
    return Outcome(t.seed, kind, inc["incident_id"], bool(hits), ok, why, delay,
                   _prior_runs(inc, t.runs_by_job), online, note)


def _print_precision(score: Score) -> None:
    typed = set().union(*FAMILIES.values())
    print("\nprecision by anomaly type (matching / emitted)")
    for kind, (tp, n) in sorted(score.per_type.items()):
        label = "" if kind in typed else "   (no incident type labels it)"
        print(f"  {kind:32s} {tp:4d} / {n:4d} = {tp / n:.2f}{label}")
    tp = sum(v[0] for k, v in score.per_type.items() if k in typed)
    n = sum(v[1] for k, v in score.per_type.items() if k in typed)
    all_n = sum(v[1] for v in score.per_type.values())
    print(f"  precision, incident-typed detectors: {tp}/{n} = {tp / max(n, 1):.3f}")
    print(f"  precision, every anomaly emitted:    {tp}/{all_n} = {tp / max(all_n, 1):.3f}")


def _family_precision(score: Score, kind: str) -> str:
    tp = sum(v[0] for k, v in score.per_type.items() if k in FAMILIES[kind])
    n = sum(v[1] for k, v in score.per_type.items() if k in FAMILIES[kind])
    return f"precision {tp}/{n} = {tp / n:.2f}" if n else "precision -/0"


def _ratio(found: int, total: int) -> str:
    return f"{found}/{total} = {found / max(total, 1):.2f}"


def _print_recall(score: Score, *, detail: bool) -> None:
    print("\nrecall, precision and delay by incident type")
    for kind in [*FAMILIES, None]:
        rows = [o for o in score.outcomes if kind is None or o.kind == kind]
        evaluable = [o for o in rows if o.evaluable]
        head = f"  {kind:20s}" if kind else "  overall             "
        tail = f"; {_family_precision(score, kind)}" if kind else ""
        print(f"{head} recall {_ratio(sum(o.found for o in rows), len(rows))}; "
              f"evaluable {_ratio(sum(o.found for o in evaluable), len(evaluable))}{tail}")
        for o in rows if detail and kind else []:
            print(f"      {o.incident_id}: {o.note}{'' if o.evaluable else f' (not evaluable: {o.why})'}"
                  f"{' [online]' if o.online else ''}")


def _print_early(score: Score, min_history: int) -> None:
    """Incidents reported within EARLY_RUNS runs of onset, among jobs with enough history."""
    print(f"\nreported within {EARLY_RUNS} runs of onset, jobs with >= {min_history} runs before the incident")
    for kind in [*FAMILIES, None]:
        rows = [o for o in score.outcomes if (kind is None or o.kind == kind) and o.prior_runs >= min_history]
        early = sum(1 for o in rows if o.delay is not None and o.delay[0] <= EARLY_RUNS)
        print(f"  {kind or 'overall':20s} {_ratio(early, len(rows))}")
    online = [o for o in score.outcomes if o.online]
    print(f"\nonline incidents (began after the first cycle's end): found {_ratio(sum(o.found for o in online), len(online))}")


def _report(score: Score, min_history: int, *, detail: bool) -> None:
    print(f"\n{score.anomalies} anomalies, {score.incidents} incidents in the ground truth")
    _print_precision(score)
    _print_recall(score, detail=detail)
    _print_early(score, min_history)


def main() -> None:
    """Run the cycles with ``dataops`` per seed, then score every seed (and their aggregate)."""
    args = _args()
    base = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="dataops-detect-"))
    print(f"workspace: {args.jobs} jobs, {args.days} days + {args.new_days} new, seeds {args.seed_list}, "
          f"ending {args.end:%Y-%m-%d}; dir {base}; load {os.getloadavg()[0]:.2f}")
    began = time.monotonic()
    configs = {seed: _cycles(seed, base / f"seed{seed}", args) for seed in args.seed_list}
    from dataops_jobs.config import load_config
    from dataops_jobs.session import spark_for

    first = load_config(next(iter(configs.values())), environ=_env())
    spark = spark_for(first, target="local")
    total = Score()
    for seed, path in configs.items():
        print(f"\n===== seed {seed} =====")
        score = _score(_read(spark, seed, path, args))
        _report(score, first.anomaly.min_history_runs, detail=True)
        total.add(score)
    if len(configs) > 1:
        print(f"\n===== seeds {args.seed_list} together =====")
        _report(total, first.anomaly.min_history_runs, detail=False)
    print(f"\ntotal {time.monotonic() - began:.0f} s; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
