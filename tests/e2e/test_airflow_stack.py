"""End to end in a real Airflow: api-server, scheduler, dag-processor and triggerer (LocalExecutor,
SQLite, parallelism 3) started by ``scripts/airflow_stack.sh`` in a temporary home.

The test simulates a tiny workspace, triggers ``dataops_monitoring`` through the REST API, waits for
success, checks the output tables and that the SLA breaches of the monitored jobs reached a loopback
webhook as alerts, and checks that the Deadline Alert (a 1-minute cycle budget,
which a cycle of five Spark tasks always exceeds) reached a loopback webhook through the alert
engine. Everything binds 127.0.0.1 (checked on the stack's listening sockets, the log servers
included). A successful run must read clean: no ERROR line and no traceback in any task log of the
run, nor in the components' logs; the script says "Airflow stopped" when it is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.slow, pytest.mark.spark]
REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 150
RUN_TIMEOUT = int(os.environ.get("DATAOPS_E2E_RUN_TIMEOUT", "600"))  # a loaded 2-core box is slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver(BaseHTTPRequestHandler):
    """Loopback webhook: records every JSON body it is sent."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append({"path": self.path, "body": json.loads(body or b"{}")})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], Receiver.received
    server.shutdown()


class Api:
    """Minimal REST client: a token from the simple auth manager's generated password file."""

    def __init__(self, port: int, home: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        token = self.call("POST", "/auth/token", {"username": "admin", "password": password}, auth=False)
        self.token = token["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def write_config(tmp: Path, system: Path, webhook_port: int, job_names: list[str]) -> dict[str, str]:
    """Config (1-minute budget, a schedule that never fires soon, a 1-minute SLA on every job that its
    runs break) + rules file (SLA breaches to the webhook) + env for the stack."""
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump({
        "environment": "e2e",
        "local": {"system_tables_path": str(system), "warehouse_path": str(tmp / "warehouse"),
                  "driver_memory": "1g"},
        # 29 February: unpausing must not create a scheduled run that would queue before ours.
        "schedules": {"monitoring": "0 0 29 2 *", "cycle_time_budget_minutes": 1, "retries": 0},
        "sla": {"jobs": [{"job_name": name, "max_duration_minutes": 1} for name in job_names]},
    }))
    rules = tmp / "alerting_rules.yaml"
    rules.write_text(yaml.safe_dump({
        "policy": {"group_wait_seconds": 0},
        "channels": {"hook": {"type": "webhook", "conn_id": "e2e_hook",
                              "options": {"endpoint": "/alerts", "secret_env": "E2E_WEBHOOK_SECRET"}}},
        "rules": [{"name": "sla_breach", "kind": "sla_breach", "routes": ["hook"]}],
    }))
    return {
        "DATAOPS_CONFIG": str(config),
        "DATAOPS_ALERTING_RULES": str(rules),
        "E2E_WEBHOOK_SECRET": "e2e-secret",
        "AIRFLOW_CONN_E2E_HOOK": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": webhook_port,
                                             "schema": "http"}),
    }


@pytest.fixture
def stack(tmp_path: Path, spark: SparkSession, receiver: tuple[int, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    from dataops_jobs import simulator

    summary = simulator.simulate_workspace(spark, str(tmp_path / "system"), jobs=2, days=1, seed=5)
    jobs = spark.read.format("delta").load(str(tmp_path / "system" / "lakeflow" / "jobs"))
    job_names = sorted({r["name"] for r in jobs.select("name").collect() if r["name"]})
    port = free_port()
    home = tmp_path / "airflow"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        **write_config(tmp_path, tmp_path / "system", receiver[0], job_names),
        "AIRFLOW_STACK_HOME": str(home),
        "AIRFLOW_STACK_PORT": str(port),
        "AIRFLOW_STACK_PARALLELISM": "3",
        "DATAOPS_STACK_DEMO": "0",
        "DATAOPS_STACK_FIRST_RUN": "0",  # the test triggers its own run (and unpauses after)
        "AIRFLOW_STACK_LOG_PORT": str(free_port()),
        "AIRFLOW_STACK_TRIGGER_LOG_PORT": str(free_port()),
    }
    log = (tmp_path / "stack.out").open("w")
    proc = subprocess.Popen([str(REPO / "scripts" / "airflow_stack.sh")], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield {"port": port, "home": home, "summary": summary, "proc": proc, "tmp": tmp_path,
               "received": receiver[1], "config": env["DATAOPS_CONFIG"], "out": tmp_path / "stack.out"}
    finally:
        _kill_group(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the stack as Ctrl-C would (SIGINT to the script's process group) and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=60)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (the script and every component), then SIGKILL every descendant.

    Task processes start sessions of their own, so the tree is collected before signalling.
    """
    import psutil

    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=40)
    for child in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    psutil.wait_procs(tree, timeout=10)
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "leftover processes"


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=10) as response:
        health = json.loads(response.read())
    return all(health[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "triggerer", "dag_processor"))


def test_monitoring_dag_in_a_running_airflow(stack: dict[str, Any], spark: SparkSession) -> None:
    from dataops_jobs.config import load_config
    from dataops_jobs.io import TableLocator, read_output

    port, home = stack["port"], stack["home"]
    wait_for(lambda: _healthy(port), STARTUP_TIMEOUT, "all four components healthy")
    api = Api(port, home)
    wait_for(lambda: api.call("GET", "/api/v2/dags/dataops_monitoring")["dag_id"], 90, "the DAG parsed")
    assert api.call("GET", "/api/v2/importErrors")["total_entries"] == 0

    run = api.call("POST", "/api/v2/dags/dataops_monitoring/dagRuns", {"logical_date": None})
    api.call("PATCH", "/api/v2/dags/dataops_monitoring", {"is_paused": False})
    run_path = f"/api/v2/dags/dataops_monitoring/dagRuns/{urllib.request.quote(run['dag_run_id'])}"

    def finished() -> str | None:
        state = api.call("GET", run_path)["state"]
        return state if state in ("success", "failed") else None

    assert wait_for(finished, RUN_TIMEOUT, "the monitoring run to finish", interval=5) == "success"
    tasks = api.call("GET", f"{run_path}/taskInstances")["task_instances"]
    assert {t["task_id"]: t["state"] for t in tasks} == dict.fromkeys(
        ["collect_job_runs", "collect_metrics_and_costs", "health_scores", "detect_anomalies", "evaluate_slas",
         "recommendations", "evaluate_and_send_alerts"],
        "success")

    locator = TableLocator(load_config(Path(stack["config"])))
    runs = read_output(spark, locator, "job_monitoring")
    assert runs is not None
    assert runs.count() == stack["summary"].runs

    # Every run broke its 1-minute SLA: evaluate_slas wrote sla_breaches, the alert task's sla_breach
    # rule turned them into alerts (one per run) and the engine delivered them to the webhook.
    breaches = read_output(spark, locator, "sla_breaches")
    assert breaches is not None
    assert breaches.count() > 0
    sla_alerts = [a for r in stack["received"] for a in r["body"].get("alerts", []) if a.get("rule") == "sla_breach"]
    assert sla_alerts, "no sla_breach alert reached the webhook"
    assert {a["labels"]["run_id"] for a in sla_alerts} <= {r["run_id"] for r in breaches.select("run_id").collect()}

    # The 1-minute budget was missed: the triggerer ran the AsyncCallback, which went through the alert
    # engine to the loopback webhook.
    received = wait_for(lambda: [r for r in stack["received"] if _is_deadline(r["body"])], 60,
                        "the deadline alert at the loopback webhook")
    alert = received[0]["body"]["alerts"][0]
    assert alert["rule"] == "airflow_deadline_missed"
    assert "missed its deadline" in alert["message"]
    assert received[0]["path"] == "/alerts"

    # Loopback only: the api-server and the task/triggerer log servers (and Spark, if a task runs).
    listening = _listening_addresses(stack["proc"])
    assert listening, "no listening socket found in the stack's processes"
    assert listening <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, listening

    # A successful run reads clean, task logs and components' logs alike.
    assert _error_lines(home, run["dag_run_id"]) == []

    _stop(stack["proc"])
    out = stack["out"].read_text()
    assert "==> Airflow stopped" in out
    assert "exited unexpectedly" not in out


def _error_lines(home: Path, run_id: str) -> list[str]:
    """ERROR/CRITICAL records and tracebacks in the run's task logs (JSON lines) and the components'
    logs (console format)."""
    found = []
    run_dir = home / "logs" / "dag_id=dataops_monitoring" / f"run_id={run_id}"
    task_logs = sorted(run_dir.glob("task_id=*/attempt=*.log"))
    assert task_logs, f"no task logs under {run_dir}"
    for path in task_logs:
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": line}
            text = json.dumps(record)
            if str(record.get("level", "")).lower() in ("error", "critical") or "Traceback" in text:
                found.append(f"{path.parent.name}: {line[:300]}")
    for path in sorted((home / "logs").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if "[error" in line or "[critical" in line or "Traceback" in line:
                found.append(f"{path.name}: {line[:300]}")
    return found


def _listening_addresses(proc: subprocess.Popen[bytes]) -> set[str]:
    """Local addresses of every listening TCP socket of the stack's process tree."""
    import psutil

    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    addresses = set()
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            addresses |= {c.laddr.ip for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    return addresses


def _is_deadline(body: dict[str, Any]) -> bool:
    return any(a.get("rule") == "airflow_deadline_missed" for a in body.get("alerts", []))
