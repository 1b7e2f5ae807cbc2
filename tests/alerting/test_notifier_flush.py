"""Issue 13 item 2: users' DAG events grouped by DAG, flushed without another callback, callbacks
bounded; against a real loopback receiver and the real detached flush process."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from alerting_support import CANARY, FakeClock, Receiver, conn_env, free_port
from test_notifiers import stop_flusher

from dataops_intelligence.alerting.model import AlertCandidate, Severity
from dataops_intelligence.alerting.policy import AlertPolicy
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.notifiers import DataOpsNotifier

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RULES = """
policy: {group_wait_seconds: 0, group_interval_seconds: 2, repeat_interval_minutes: 15,
         resolve_timeout_minutes: 0.01}
channels:
  hook: {type: webhook, conn_id: flush_hook, options: {endpoint: /airflow}}
"""


@pytest.fixture
def paths(receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    conn_env(
        monkeypatch,
        "flush_hook",
        {
            "conn_type": "http",
            "host": "127.0.0.1",
            "port": receiver.port,
            "schema": "http",
            "password": CANARY,
        },
    )
    state = tmp_path / "state.sqlite"
    yield {"rules_path": str(rules), "state_path": str(state)}
    stop_flusher(state)


def context(dag: str, task: str) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id=dag, task_id=task, run_id="scheduled__1", try_number=1)
    return {"ti": ti, "task_instance": ti, "exception": ValueError("boom")}


def _wait_for(receiver: Receiver, count: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.delivered()) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def test_two_dags_are_two_groups_delivered_at_once(paths: dict[str, Any], receiver: Receiver) -> None:
    notifier = DataOpsNotifier(channels=["hook"], deferred_flush=False, **paths)
    notifier(context("sales", "load"))
    notifier(context("billing", "load"))  # another DAG, right after: not held behind the first group
    dags = sorted(r.json()["group_labels"]["dag_id"] for r in receiver.delivered())
    assert dags == ["billing", "sales"]


def test_held_group_is_flushed_without_another_callback(paths: dict[str, Any], receiver: Receiver) -> None:
    notifier = DataOpsNotifier(channels=["hook"], deferred_flush=True, **paths)
    notifier(context("sales", "load"))
    notifier(context("sales", "transform"))  # same DAG inside group_interval: held, not dropped
    assert len(receiver.delivered()) == 1
    # No third callback. resolve_timeout (0.6 s) is shorter than group_interval (2 s): the held
    # alert must neither expire unsent nor wait for another event; the deferred flush sends it.
    _wait_for(receiver, 2)
    tasks = [a["labels"]["task_id"] for r in receiver.delivered() for a in r.json()["alerts"]]
    assert tasks == ["load", "transform"]


def test_callback_tries_once_and_hands_the_rest_to_the_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.notifiers import notifier_manager, seconds_until_work

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    conn_env(
        monkeypatch,
        "flush_hook",
        {"conn_type": "http", "host": "127.0.0.1", "port": free_port(), "schema": "http", "password": CANARY},
    )
    manager = notifier_manager(rules, tmp_path / "s.sqlite", request_timeout=3.0)
    assert manager.channels["hook"].timeout == 3.0
    cands = [
        AlertCandidate("r", {"dag_id": f"d{i}"}, Severity.ERROR, "m", "r", None, ("hook",)) for i in range(3)
    ]
    report = manager.run_cycle(candidates=cands, send_budget=0.0)  # no time left: nothing is sent
    assert report.sent == []
    assert len(report.deferred) == 3
    assert all(d.attempts == 0 for d in manager.store.load_outbox())
    assert seconds_until_work(manager) == 0.0  # handed back due at once, for the flush


def test_policy_never_expires_an_unnotified_alert_and_says_when_its_group_is_due() -> None:
    clock = FakeClock()
    policy = AlertPolicy(
        PolicyConfig(
            group_wait=timedelta(0),
            group_interval=timedelta(minutes=5),
            resolve_timeout=timedelta(seconds=30),
            group_by=("rule", "dag_id"),
        )
    )
    first = AlertCandidate("r", {"dag_id": "a", "task_id": "1"}, Severity.ERROR, "m", "r", None, ("x",))
    second = AlertCandidate("r", {"dag_id": "a", "task_id": "2"}, Severity.ERROR, "m", "r", None, ("x",))
    decision = policy.decide([first], [], clock.now)
    assert len(decision.notifications) == 1
    clock.advance(3)
    decision = policy.decide([second], decision.states, clock.now)
    assert decision.notifications == []
    assert policy.next_due(decision.states, clock.now) == clock.now + timedelta(seconds=297)
    clock.advance(minutes=5)  # long past resolve_timeout: the first expires, the second is due
    decision = policy.decide([], decision.states, clock.now)
    (note,) = decision.notifications
    assert [a.labels["task_id"] for a in note.alerts] == ["2"]
    assert policy.next_due(decision.states, clock.now) is None
