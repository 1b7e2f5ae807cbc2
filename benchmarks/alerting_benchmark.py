"""Alerting benchmark: policy decisions per second and dispatch latency to loopback receivers.

Run: ``.venv/bin/python benchmarks/alerting_benchmark.py [--candidates 100000] [--sends 200]``.
Prints the policy's candidate decisions per second in four phases (goal: >= 50,000/s) and the
dispatch latency p50/p99 of every channel type to loopback receivers (goal: p99 < 100 ms).
Prints figures; asserts nothing (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "provider"))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="dataops-bench-airflow-"))

from dataops_intelligence.alerting.matchers import parse_matchers  # noqa: E402
from dataops_intelligence.alerting.model import AlertCandidate, Severity  # noqa: E402
from dataops_intelligence.alerting.policy import AlertPolicy, needs_tracking  # noqa: E402
from dataops_intelligence.alerting.policy_config import (  # noqa: E402
    ChannelSettings,
    EscalationRule,
    InhibitRule,
    PolicyConfig,
    Silence,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def candidates(n: int) -> list[AlertCandidate]:
    sev = (Severity.WARNING, Severity.ERROR, Severity.CRITICAL)
    return [
        AlertCandidate(
            "job_failed",
            {"job_name": f"job_{i}", "job_id": str(i), "workspace_id": f"ws{i % 200}"},
            sev[i % 3],
            f"job_{i} failed",
            "job_failure",
            str(i),
            ("slack", "email"),
        )
        for i in range(n)
    ]


def bench_policy(n: int) -> None:
    config = PolicyConfig(
        silences=(
            Silence("s", parse_matchers(["workspace_id=ws1"]), T0, T0 + timedelta(days=1), "bench", "b"),
        ),
        inhibit_rules=(
            InhibitRule(
                parse_matchers(["rule=ws_down"]), parse_matchers(["rule=job_failed"]), ("workspace_id",)
            ),
        ),
        escalations=(EscalationRule(timedelta(minutes=30), (), Severity.CRITICAL, ("pager",)),),
    )
    policy = AlertPolicy(config)
    cands = [*candidates(n), AlertCandidate("ws_down", {"workspace_id": "ws2"}, Severity.CRITICAL, "down")]
    state: list[Any] = []
    for label, at in (
        ("new alerts (group_wait)", T0),
        ("first send", T0 + timedelta(seconds=31)),
        ("steady state (repeat held)", T0 + timedelta(minutes=5)),
        ("escalation + repeat", T0 + timedelta(minutes=45)),
    ):
        start = time.perf_counter()
        decision = policy.decide(cands, state, at, ("job_failed",))
        elapsed = time.perf_counter() - start
        state = [s for s in decision.states if needs_tracking(s)]
        print(
            f"policy  {label:28s} {len(cands):>7,d} candidates in {elapsed:6.2f} s = "
            f"{len(cands) / elapsed:>9,.0f} decisions/s -> {len(decision.notifications)} notifications"
        )


class _Sink(BaseHTTPRequestHandler):
    """Loopback receiver answering 200 (JSON ok for the Slack Web API path)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok": true}' if self.path.endswith("chat.postMessage") else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _servers() -> tuple[int, int, Any]:
    from aiosmtpd.controller import Controller

    class Handler:
        """SMTP sink that accepts every message."""

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    smtp_port = _free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    return http.server_address[1], smtp_port, smtp


def _connections(http_port: int, smtp_port: int) -> list[ChannelSettings]:
    base = f"http://127.0.0.1:{http_port}"
    conns = {
        "B_SLACK": {"conn_type": "slackwebhook", "password": f"{base}/services/T/B/X"},
        "B_SLACK_API": {
            "conn_type": "slack",
            "password": "xoxb-bench",
            "extra": {"base_url": f"{base}/api/"},
        },
        "B_TEAMS": {"conn_type": "http", "host": "127.0.0.1", "password": f"{base}/workflows/1/invoke?sig=x"},
        "B_HOOK": {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": http_port,
            "schema": "http",
            "password": "k",
        },
        "B_SMTP": {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp_port,
            "extra": {"from_email": "b@example.com"},
        },
    }
    for name, conn in conns.items():
        os.environ[f"AIRFLOW_CONN_{name}"] = json.dumps(conn)
    return [
        ChannelSettings("slack_webhook", "slack_webhook", "b_slack"),
        ChannelSettings("slack_api", "slack_api", "b_slack_api", {"channel": "#b"}),
        ChannelSettings("teams", "teams", "b_teams"),
        ChannelSettings("webhook", "webhook", "b_hook"),
        ChannelSettings("email", "email", "b_smtp", {"to": "oncall@example.com", "tls": "none"}),
        ChannelSettings("file", "file", None, {"path": os.path.join(tempfile.mkdtemp(), "alerts.jsonl")}),
    ]


def bench_dispatch(sends: int) -> None:
    from dataops_intelligence.alerting.channels.registry import default_registry

    http_port, smtp_port, smtp = _servers()
    channels = default_registry(load_plugins=False).build(_connections(http_port, smtp_port))
    notification = (
        AlertPolicy(PolicyConfig(group_wait=timedelta(0))).decide(candidates(40), [], T0, ()).notifications[0]
    )
    for name, channel in channels.items():
        cold = time.perf_counter()
        assert channel.send(notification).ok
        cold_ms = (time.perf_counter() - cold) * 1000
        timings = []
        for _ in range(sends):
            start = time.perf_counter()
            channel.send(notification)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        p99 = timings[max(int(len(timings) * 0.99) - 1, 0)]
        print(
            f"dispatch {name:14s} 40-alert group: first {cold_ms:7.1f} ms (connection lookup), "
            f"then p50 {statistics.median(timings):6.2f} ms, p99 {p99:6.2f} ms, max {timings[-1]:6.2f} ms "
            f"over {sends} sends"
        )
    smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--sends", type=int, default=200)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    bench_policy(args.candidates)
    start = time.perf_counter()
    import airflow  # noqa: F401  (one-time import cost, reported separately)

    print(f"import airflow (one-time, per process): {time.perf_counter() - start:.1f} s")
    bench_dispatch(args.sends)


if __name__ == "__main__":
    main()
