"""The ``dataops`` command: simulate a workspace, run a cycle, run the demo, score a series.

Exit codes: 0 success; 2 configuration or usage error; 3 a source table cannot be read; 4 a Delta
write failed; 5 the Airflow DAG run failed; 1 anything else. Heavy modules (Spark, Airflow) are
imported only by the subcommand that needs them, so ``dataops --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OK, EXIT_OTHER, EXIT_CONFIG, EXIT_SOURCE, EXIT_WRITE, EXIT_DAG = 0, 1, 2, 3, 4, 5


def say(message: str) -> None:
    """Progress for humans, on stdout, flushed (the demo's narrative)."""
    print(f"[dataops {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="base YAML config (default: $DATAOPS_CONFIG or the project's config/base.yaml)",
    )
    parser.add_argument("--env", default=None, help="environment overlay: dev, staging, prod")


def _load(args: argparse.Namespace) -> Any:
    from dataops_intelligence.settings import config_path, environment
    from dataops_jobs.config import load_config

    return load_config(config_path(args.config), env=environment(args.env))


def _spark(config: Any) -> Any:
    from dataops_intelligence.operators._spark import local_spark

    return local_spark(config)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Write a simulated workspace (or append one day to it) in the local system-table layout."""
    from dataops_jobs import simulator

    config = _load(args)
    path = Path(args.path or config.local.system_tables_path)
    say("starting local Spark ...")
    spark = _spark(config)
    if args.append_day:
        say(f"appending one simulated day to {path} ...")
        summary = simulator.append_day(spark, str(path))
    else:
        say(f"simulating {args.jobs} jobs over {args.days} days into {path} ...")
        summary = simulator.simulate_workspace(
            spark, str(path), jobs=args.jobs, days=args.days, seed=args.seed
        )
    say(f"done: {summary}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """One monitoring cycle outside Airflow (cron, a Databricks job, a shell): collect, analyse, alert."""
    from dataops_jobs.collectors import Interval
    from dataops_jobs.cycle import DataOpsOrchestrator, utc_naive

    config = _load(args)
    end = args.interval_end or datetime.now(timezone.utc)
    say("starting local Spark ...")
    orchestrator = DataOpsOrchestrator(_spark(config), config, progress=say)
    summary = orchestrator.run_cycle(Interval(utc_naive(end), utc_naive(end)))
    cycle = summary.to_dict()
    if not args.no_alerts:
        cycle["alerts"] = run_alert_stage(args, config, end)
    print_summary(cycle, orchestrator.overview())
    return EXIT_OK


def run_alert_stage(args: argparse.Namespace, config: Any, end: datetime) -> dict[str, Any]:
    """The alert cycle of the DAG's last task (``AlertCycleOperator.run_interval``) on the local tables.

    The interval is the monitoring schedule's length before ``end``; events since the last alert
    cycle are covered by the alert watermark whatever that length, as in the DAG.
    """
    from datetime import timedelta

    from dataops_intelligence.operators.alerts import AlertCycleOperator

    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    say("evaluating alert rules and sending notifications ...")
    operator = AlertCycleOperator(
        task_id="evaluate_and_send_alerts",
        config_path=str(args.config) if args.config else None,
        environment=args.env,
        rules_path=str(args.rules) if args.rules else None,
        compute_target="local",
    )
    result = operator.run_interval(config, end - timedelta(minutes=30), end.astimezone(timezone.utc))
    say(f"alerts: {result['candidates']} candidates, {result['notifications']} notifications, "
        f"{result['sent']} sent, {result['failed']} failed, {result['deferred']} deferred")
    return result


def print_summary(cycle: dict[str, Any], overview: dict[str, Any]) -> None:
    """The readable end-of-cycle summary."""
    out = sys.stdout
    out.write("\n=== DataOps Intelligence: cycle summary ===\n")
    out.write(f"interval end        : {cycle.get('interval_end')}\n")
    out.write(f"new source rows read: {cycle.get('rows_read')}\n")
    for stage, res in cycle.get("stages", {}).items():
        reads = ", ".join(f"{k}={v}" for k, v in res.get("rows_read", {}).items()) or "-"
        mode = "incremental" if res.get("incremental") else ("initial" if res.get("rows_read") else "")
        took = f" ({res['seconds']} s)" if "seconds" in res else ""
        analysed = [d for d in res.get("details", {}).values() if isinstance(d, dict) and "since" in d]
        if analysed:
            since = analysed[0]["since"]
            written = sum(res.get("rows_written", {}).values())
            mode = f"{'backfill' if since is None else f'collected since {since}'}, {written} rows merged"
            out.write(f"  {stage:<16} {mode}{took}\n")
            continue
        if "evaluated" in res:  # the recommendations stage
            what = (f"{res.get('recommendations', 0)} recommendations" if res["evaluated"]
                    else "evaluation not due")
            out.write(f"  {stage:<16} {res.get('stats_rows', 0)} run summaries merged, {what}{took}\n")
            continue
        out.write(f"  {stage:<16} read {reads} {mode}{took}\n")
    alerts = cycle.get("alerts")
    if alerts:
        out.write(f"  {'alerts':<16} {alerts['candidates']} candidates, {alerts['notifications']} notifications, "
                  f"{alerts['sent']} sent, {alerts['failed']} failed (alert_history)\n")
    out.write(f"jobs seen           : {overview.get('jobs', 0)}\n")
    out.write(f"runs collected      : {overview.get('runs', 0)} ({overview.get('running', 0)} in flight)\n")
    out.write(f"failed runs         : {overview.get('failed', 0)}\n")
    for row in overview.get("least_healthy", []):
        out.write(
            f"  least healthy: {row.get('job_name') or row.get('job_id')}: {row.get('health_score'):.0f}"
            f" ({row.get('trend')}) {row.get('explanation', '')}\n"
        )
    found = overview.get("anomalies_found") or {}
    if found:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(found.items(), key=lambda kv: -kv[1]))
        out.write(f"anomalies found     : {sum(found.values())} by the cycle ending "
                  f"{overview.get('anomalies_cycle_end')} ({kinds}); {overview.get('anomalies_backfilled', 0)} "
                  f"older than analysis.notify_max_age_hours are history (recorded, not notified)\n")
    else:
        out.write("anomalies found     : none new in this cycle\n")
    for row in overview.get("anomalies", []):
        when = row.get("detected_at")
        out.write(
            f"  anomaly [{row.get('severity')}] {row.get('anomaly_type')} {row.get('job_name') or row.get('job_id')}"
            f"{' (history)' if row.get('backfilled') else ''} at {when:%Y-%m-%d %H:%M}: {row.get('explanation')}\n"
            if when is not None else f"  anomaly [{row.get('severity')}] {row.get('explanation')}\n"
        )
    recs = overview.get("top_recommendations") or []
    out.write(f"top savings         : {'' if recs else 'no recommendation yet (evaluated once a day)'}\n")
    for row in recs:
        out.write(f"  {row.get('job_name') or row.get('job_id') or row.get('cluster_id')}: {row.get('proposed_change')}"
                  f" ({row.get('kind')}) saves {row.get('estimated_monthly_savings'):,.2f} "
                  f"{row.get('currency') or 'USD'}/month, confidence {row.get('confidence'):.2f}, "
                  f"duration risk {row.get('duration_risk')}\n")
    out.write("tables:\n")
    for name, info in overview.get("tables", {}).items():
        out.write(f"  {name:<18} {info['rows']:>9} rows  {info['location']}\n")
    out.flush()


def cmd_demo(args: argparse.Namespace) -> int:
    """Simulate (first time) or append a day (later), then run the monitoring DAG under dag.test()."""
    from dataops_intelligence.demo import run_demo

    return run_demo(args, say)


def cmd_detect_series(args: argparse.Namespace) -> int:
    """Score a NAB-format CSV with the resource-metric detector."""
    from dataops_intelligence.quality.detect_series import main as detect_main

    return int(detect_main([str(args.input), str(args.output)]))


def cmd_deploy(args: argparse.Namespace) -> int:
    """Build the include/ wheel and upload it with the entry script to compute.databricks.code_path."""
    import tempfile

    from dataops_intelligence import deploy

    config = _load(args)
    code_path = args.code_path or config.compute.databricks.code_path
    with tempfile.TemporaryDirectory(prefix="dataops-deploy-") as tmp:
        say(f"building the jobs wheel from {args.include_dir} ...")
        wheel = deploy.build_wheel(args.include_dir, Path(tmp))
        files = deploy.artifacts(wheel)
        if args.dry_run:
            say(f"dry run: would upload {sorted(files)} to {code_path}")
            return EXIT_OK
        client = deploy.workspace_client(args.host or config.databricks.workspace_url)
        result = deploy.upload(client, code_path, files)
    for path, digest in result.files.items():
        say(f"uploaded {path} (sha256 {digest[:12]})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``dataops`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="dataops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="write a simulated workspace's system tables (Delta)")
    _config_args(sim)
    sim.add_argument("--path", default=None, help="system tables root (default: local.system_tables_path)")
    sim.add_argument("--jobs", type=int, default=200)
    sim.add_argument("--days", type=int, default=30)
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument(
        "--append-day", action="store_true", help="append the next day to an existing simulation"
    )
    sim.set_defaults(func=cmd_simulate)
    run = sub.add_parser("run", help="run one monitoring cycle outside Airflow")
    _config_args(run)
    run.add_argument(
        "--interval-end",
        type=lambda v: datetime.fromisoformat(v),
        default=None,
        help="end of the data interval (ISO 8601, UTC; default now)",
    )
    run.add_argument("--rules", type=Path, default=None,
                     help="alert rules file (default: $DATAOPS_ALERTING_RULES or config/alerting_rules.yaml)")
    run.add_argument("--no-alerts", action="store_true", help="collect and analyse only (no alert stage)")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="simulate a workspace and run the monitoring DAG end to end")
    _config_args(demo)
    demo.add_argument("--jobs", type=int, default=200)
    demo.add_argument("--days", type=int, default=30)
    demo.add_argument("--reset", action="store_true", help="start again from a fresh simulation")
    demo.set_defaults(func=cmd_demo)
    dep = sub.add_parser("deploy", help="build the jobs wheel and upload it to compute.databricks.code_path")
    _config_args(dep)
    dep.add_argument("--include-dir", type=Path, default=Path(__file__).resolve().parents[2] / "include")
    dep.add_argument("--code-path", default=None, help="override compute.databricks.code_path")
    dep.add_argument("--host", default=None, help="workspace URL (default databricks.workspace_url / SDK auth)")
    dep.add_argument("--dry-run", action="store_true", help="build and list the files, upload nothing")
    dep.set_defaults(func=cmd_deploy)
    det = sub.add_parser("detect-series", help="score a NAB CSV (timestamp,value) causally")
    det.add_argument("input", type=Path)
    det.add_argument("output", type=Path)
    det.set_defaults(func=cmd_detect_series)
    return parser


def _errors() -> list[tuple[type[BaseException], int, Callable[[BaseException], str]]]:
    from dataops_jobs.config import format_config_error
    from dataops_jobs.errors import ConfigError
    from dataops_jobs.io import DeltaWriteError, SourceTableError

    return [
        (ConfigError, EXIT_CONFIG, lambda e: format_config_error(e)),  # type: ignore[arg-type]
        (SourceTableError, EXIT_SOURCE, str),
        (DeltaWriteError, EXIT_WRITE, str),
    ]


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        for kind, code, render in _errors():
            if isinstance(exc, kind):
                print(f"dataops: error: {render(exc)}", file=sys.stderr)
                return code
        raise


if __name__ == "__main__":
    sys.exit(main())
