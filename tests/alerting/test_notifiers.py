"""DataOpsNotifier and callbacks: Airflow events through the same engine; never raising."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from alerting_support import CANARY, Receiver, conn_env

from dataops_intelligence.callbacks import on_deadline_missed, on_task_failure, on_task_retry
from dataops_intelligence.notifiers import DataOpsNotifier

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RULES = """
policy: {group_wait_seconds: 0, repeat_interval_minutes: 15}
channels:
  hook: {type: webhook, conn_id: notifier_hook, options: {endpoint: /airflow}}
"""


def stop_flusher(state: Path) -> None:
    """Stop the deferred flush a test's callbacks started (by its process id)."""
    import contextlib
    import os
    import signal
    from pathlib import Path

    pid_file = state.parent / f"{state.name}.flusher.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    cmdline = Path(f"/proc/{pid}/cmdline")
    # Only that process, and only while it is still the flusher (a finished one's id may be reused).
    if cmdline.exists() and b"alerting.flusher" in cmdline.read_bytes():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


@pytest.fixture
def setup(receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    state = tmp_path / "state.sqlite"
    conn_env(
        monkeypatch,
        "notifier_hook",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": receiver.port,
            "schema": "http",
            "password": CANARY,
        },
    )
    monkeypatch.setenv("DATAOPS_ALERTING_RULES", str(rules))
    monkeypatch.setenv("DATAOPS_ALERT_STATE_PATH", str(state))
    yield {"rules_path": str(rules), "state_path": str(state)}
    stop_flusher(state)


def context(task: str = "load", try_number: int = 1) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="sales", task_id=task, run_id="scheduled__2026-11-26", try_number=try_number)
    return {"ti": ti, "task_instance": ti, "exception": ValueError(f"bad row; token={CANARY}")}


def test_task_failure_is_sent_once_then_deduplicated(setup: dict[str, Any], receiver: Receiver) -> None:
    notifier = DataOpsNotifier(channels=["hook"], **setup)
    notifier(context(try_number=1))
    notifier(context(try_number=2))  # same task failing again inside the repeat interval
    (request,) = receiver.delivered()
    body = request.json()
    alert = body["alerts"][0]
    assert alert["rule"] == "airflow_task_failed"
    assert alert["labels"]["dag_id"] == "sales"
    assert alert["labels"]["task_id"] == "load"
    assert "bad row" in alert["message"]
    assert CANARY not in request.body.decode()  # the exception text is redacted


def test_templated_message(setup: dict[str, Any], receiver: Receiver) -> None:
    DataOpsNotifier(channels=["hook"], message="{{ ti.task_id }} broke", **setup)(context("transform"))
    assert receiver.delivered()[0].json()["alerts"][0]["message"] == "transform broke"


def test_callbacks_use_the_same_engine(setup: dict[str, Any], receiver: Receiver) -> None:
    on_task_retry(context("flaky"))
    on_task_failure(context("broken"))
    rules = sorted(r.json()["alerts"][0]["rule"] for r in receiver.delivered())
    assert rules == ["airflow_task_failed", "airflow_task_retry"]


def test_deadline_async_callback(setup: dict[str, Any], receiver: Receiver) -> None:
    ctx = {
        "dag_run": {"dag_id": "sales", "run_id": "manual__1"},
        "deadline": {"id": "d-1", "deadline_time": "2026-11-26T12:30:00+00:00"},
    }
    asyncio.run(on_deadline_missed(ctx, channels=["hook"], severity="critical"))
    alert = receiver.delivered()[0].json()["alerts"][0]
    assert alert["rule"] == "airflow_deadline_missed"
    assert alert["severity"] == "critical"
    assert "missed its deadline 2026-11-26T12:30:00+00:00" in alert["message"]


def test_async_notify(setup: dict[str, Any], receiver: Receiver) -> None:
    asyncio.run(DataOpsNotifier(channels=["hook"], **setup).async_notify(context()))
    assert len(receiver.delivered()) == 1


def test_notifier_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    broken = DataOpsNotifier(rules_path=tmp_path / "missing.yaml", state_path=tmp_path / "s.sqlite")
    broken(context())  # missing config: logged, not raised
    DataOpsNotifier(message="{{ ti.task_id ", rules_path=tmp_path / "missing.yaml")(context())  # bad template
    on_task_failure({})  # no ti, no dag_run, no config
    assert "not sent" in caplog.text


def test_unreachable_receiver_keeps_alert_in_outbox(setup: dict[str, Any], receiver: Receiver) -> None:
    receiver.script = [(503, {}, "down")] * 10
    DataOpsNotifier(channels=["hook"], **setup)(context())
    from dataops_intelligence.alerting.store import SqliteAlertStore

    (pending,) = SqliteAlertStore(setup["state_path"]).load_outbox()
    assert pending.status.value == "failed"
    assert pending.attempts == 1  # a callback tries once; the deferred flush does the retries
    assert "HTTP 503" in (pending.last_error or "")


def test_concurrent_failures_notify_once(setup: dict[str, Any], receiver: Receiver) -> None:
    import threading

    notifier = DataOpsNotifier(channels=["hook"], **setup)
    threads = [threading.Thread(target=notifier.notify, args=(context(),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receiver.delivered()) == 1  # the store's cycle lock serialises read-decide-write


def test_usable_as_deadline_alert_callbacks() -> None:
    from datetime import timedelta

    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    for callback in (
        AsyncCallback(on_deadline_missed, kwargs={"channels": ["slack"]}),
        AsyncCallback(DataOpsNotifier, kwargs={"event": "deadline_missed"}),
    ):
        alert = DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(hours=1), callback=callback
        )
        assert alert.callback is callback
