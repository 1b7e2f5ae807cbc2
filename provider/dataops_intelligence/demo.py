"""``dataops demo``: the README's first command after set-up.

First run: simulate a workspace (200 jobs over 30 days by default), then run the ``dataops_monitoring``
DAG once under Airflow's ``dag.test()`` on local Spark + Delta. Every later run appends one simulated
day and runs the DAG again: the cycle is incremental and says how many new rows it read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
Say = Callable[[str], None]


def prepare_airflow_env(home: Path) -> None:
    """An Airflow home of the demo's own (SQLite), set before Airflow is first imported."""
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)


def simulation_end(system_tables_path: Path) -> datetime | None:
    """End of the simulated period (the simulated "now"), or None before the first simulation."""
    manifest = system_tables_path / "_simulator.json"
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    return datetime.fromisoformat(data["start"]) + timedelta(days=int(data["days"]))


def simulate_or_append(config: Any, args: Any, say: Say) -> datetime:
    """Simulate the workspace the first time, append a day afterwards; return the simulated now."""
    from dataops_intelligence.operators._spark import local_spark
    from dataops_jobs import simulator

    path = Path(config.local.system_tables_path).resolve()
    say("starting local Spark with Delta Lake (jars from the local cache) ...")
    spark = local_spark(config)
    if simulation_end(path) is None:
        say(f"simulating a workspace: {args.jobs} jobs over {args.days} days -> {path}")
        summary = simulator.simulate_workspace(spark, str(path), jobs=args.jobs, days=args.days)
    else:
        say(f"appending one more simulated day to {path}")
        summary = simulator.append_day(spark, str(path))
    say(f"  wrote {sum(summary.row_counts.values())} system-table rows ({summary.runs} runs) "
        f"in {summary.seconds:.0f} s")
    end = simulation_end(path)
    assert end is not None
    return end


def run_dag(logical_date: datetime, say: Say) -> str:
    """Run ``dataops_monitoring`` once in-process under ``dag.test()``; return the run's state."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    say("preparing the Airflow metadata DB (SQLite) ...")
    db.initdb()
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag("dataops_monitoring")
    say(f"running DAG dataops_monitoring for {logical_date.isoformat()} under dag.test() ...")
    dag_run = dag.test(logical_date=logical_date)
    return str(dag_run.state)


def run_demo(args: Any, say: Say) -> int:
    """The demo: simulate or append, run the DAG, print the summary."""
    from dataops_intelligence.cli import EXIT_DAG, EXIT_OK, _load, print_summary

    # Airflow reads its home when first imported (loading the config may import it): set it first.
    airflow_home = Path(os.environ.get("DATAOPS_HOME", ".dataops")).resolve() / "airflow"
    if args.reset:
        shutil.rmtree(airflow_home, ignore_errors=True)
    prepare_airflow_env(airflow_home)
    # Alerts go to the local file channel (config/base.yaml: alerting.route_all_to), not to Slack.
    os.environ.setdefault("DATAOPS_ROUTE_ALERTS_TO", "local")
    os.environ.setdefault("DATAOPS_ALERT_STATE_PATH", str(airflow_home / "dataops" / "alert_state.sqlite"))
    config = _load(args)
    if args.reset:
        for p in (config.local.system_tables_path, config.local.warehouse_path):
            shutil.rmtree(p, ignore_errors=True)
    end = simulate_or_append(config, args, say)
    state = run_dag(end, say)
    if state != "success":
        say(f"the DAG run ended {state}: see the task logs above")
        return EXIT_DAG
    print_summary(cycle_figures(config, end), overview(config))
    say_alerts(config, say)
    say("run `make demo` again to simulate one more day and see an incremental cycle")
    return EXIT_OK


def say_alerts(config: Any, say: Say) -> None:
    """Where this demo's notifications went (the local file channel) and how many there are."""
    local = config.alerting.channels.get(config.alerting.route_all_to or "")
    if local is None or local.type != "file":
        return
    path = Path(str(local.options.get("path", ""))).resolve()
    count = sum(1 for _ in path.open(encoding="utf-8")) if path.exists() else 0
    say(f"alerts: {count} notification(s) so far in {path} (one JSON line each; `tail -f` it)")


def cycle_figures(config: Any, end: datetime) -> dict[str, Any]:
    """Rows read by this cycle, from the watermark table the collectors maintain."""
    from dataops_jobs.io import TableLocator, read_output
    from dataops_jobs.processors import WATERMARK_PREFIX
    from dataops_jobs.session import get_spark

    df = read_output(get_spark(), TableLocator(config), "watermarks")
    # Source watermarks only: the analyses' own rows (``analysis.<stage>``) count results, not reads.
    rows = [] if df is None else [r for r in df.collect() if not r["source"].startswith(WATERMARK_PREFIX)]
    latest = [r for r in rows if r["updated_at"] == end.replace(tzinfo=None)]
    reads = {r["source"]: int(r["rows_read"]) for r in latest}
    incremental = len(rows) > len(latest) or any(r["updated_at"] < end.replace(tzinfo=None) for r in rows)
    return {"interval_end": end.isoformat(), "rows_read": sum(reads.values()),
            "stages": {"collect": {"rows_read": reads, "incremental": incremental}}}


def overview(config: Any) -> dict[str, Any]:
    """The tables' overview."""
    from dataops_jobs.io import TableLocator
    from dataops_jobs.reporting import overview as tables_overview
    from dataops_jobs.session import get_spark

    return tables_overview(get_spark(), TableLocator(config))
