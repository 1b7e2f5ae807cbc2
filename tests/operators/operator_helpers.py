"""Helpers shared by the operator tests (uniquely named: ``conftest`` is not importable safely)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TOKEN = "dapi-operator-test-token-0123456789"
OAUTH_CLIENT = ("sp-operators-client", "sp-operators-secret-9f8e7d")
CONN_ID = "databricks_emu"
CODE_PATH = "/Workspace/Shared/dataops_test"
START = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
END = datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)

#: A stand-in for the real entry script: behaviour per stage from behaviour.json beside it.
FAKE_ENTRY = r'''
import json, os, sys, time
stage = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "behaviour.json")
mode = json.load(open(path)).get(stage, "ok") if os.path.exists(path) else "ok"
with open(os.path.join(here, "calls.log"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
if mode == "sleep":
    time.sleep(120)
if mode == "fail":
    print("reading system.lakeflow.job_run_timeline ...")
    raise RuntimeError(f"stage {stage} exploded: table job_run_timeline has no column period_end_time")
print("DATAOPS_RESULT " + json.dumps({"stage": stage, "rows_written": {"fake": 1}, "argv": sys.argv[2:3]}))
'''


@dataclass
class FakeTI:
    """The bits of a task instance the operators use: identity and xcom_push."""

    dag_id: str = "dag_ops"
    task_id: str = "task_ops"
    run_id: str = "manual__2026-01-05T10:30:00+00:00"
    try_number: int = 1
    map_index: int = -1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context(ti: FakeTI | None = None) -> dict[str, Any]:
    """A minimal task context with a fixed data interval."""
    return {"ti": ti or FakeTI(), "data_interval_start": START, "data_interval_end": END, "dag_run": None}


def write_config(path: Path, **sections: Any) -> str:
    """Write a YAML config (databricks target on the emulator connection unless overridden)."""
    base: dict[str, Any] = {
        "environment": "test",
        "databricks": {"conn_id": CONN_ID},
        "compute": {"target": "databricks", "databricks": {
            "cluster_mode": "job_cluster", "code_path": CODE_PATH, "polling_period_seconds": 1,
            "num_workers": 1}},
        "schedules": {"retries": 0},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    path.write_text(yaml.safe_dump(base))
    return str(path)


def first_event(trigger: Any, timeout: float = 60.0) -> dict[str, Any]:
    """Run a trigger until its first event and return the payload."""

    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("trigger ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout))


def wait_for(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``probe`` until truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)
