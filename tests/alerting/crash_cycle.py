"""Run one alert cycle and SIGKILL this process right after the outbox commit, before any send.

Usage: python crash_cycle.py <sqlite-path> <webhook-port>   (driven by test_engine.py)
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "provider"))

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.engine import AlertManager
from dataops_intelligence.alerting.model import AlertCandidate, Severity
from dataops_intelligence.alerting.policy_config import ChannelSettings, PolicyConfig
from dataops_intelligence.alerting.store import SqliteAlertStore


class KillAfterOutboxWrite(SqliteAlertStore):
    """Dies (SIGKILL, no cleanup) as soon as a commit that carries outbox rows is durable."""

    def commit(self, alerts=(), deliveries=(), history=()):  # type: ignore[no-untyped-def]
        super().commit(alerts, deliveries, history)
        if deliveries:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    store = KillAfterOutboxWrite(sys.argv[1])
    settings = [ChannelSettings("hook", "webhook", "crash_hook", {"endpoint": "/crash"})]
    manager = AlertManager(
        store=store,
        channels=default_registry(load_plugins=False).build(settings),
        policy=PolicyConfig(group_wait=timedelta(0)),
    )
    candidate = AlertCandidate(
        "job_failed",
        {"job_name": "etl", "workspace_id": "ws1"},
        Severity.ERROR,
        "etl failed",
        "job_failure",
        "1",
        ("hook",),
    )
    manager.run_cycle(candidates=[candidate], evaluated_rules=["job_failed"])
    print("not killed", flush=True)


if __name__ == "__main__":
    main()
