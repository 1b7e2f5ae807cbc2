"""The ``recommendations_digest`` rule kind: one digest per ISO week, deduplicated by the alert engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from alerting_support import FakeClock, Receiver, channel_settings, conn_env

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.engine import AlertManager
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.rules import Rule, RuleKind, evaluate_rules
from dataops_intelligence.alerting.store import InMemoryAlertStore

if TYPE_CHECKING:
    import pytest

    from dataops_intelligence.alerting.model import AlertCandidate

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
RULE = Rule(name="weekly_savings", kind=RuleKind.RECOMMENDATIONS_DIGEST, routes=("hook",), params={"top": 2})
ROWS = [
    {"job_id": "1", "job_name": "etl", "kind": "over_provisioned_workers", "proposed_change": "num_workers 8 → 3",
     "estimated_monthly_savings": 420.0, "currency": "USD", "is_current": True},
    {"job_id": "2", "job_name": "report", "kind": "all_purpose_compute", "proposed_change": "all-purpose → job compute",
     "estimated_monthly_savings": 80.5, "currency": "USD", "is_current": True},
    {"job_id": "3", "job_name": "load", "kind": "idle_time", "proposed_change": "instance pool",
     "estimated_monthly_savings": 12.0, "currency": "USD", "is_current": True},
    {"job_id": "4", "job_name": "mem", "kind": "memory_pressure", "proposed_change": "num_workers 2 → 3",
     "estimated_monthly_savings": -30.0, "currency": "USD", "is_current": True},
]


def digest(now: datetime, rows: list[dict[str, object]] = ROWS, rule: Rule = RULE) -> list[AlertCandidate]:
    return list(evaluate_rules([rule], {"recommendations": rows}, now))


def test_one_digest_with_the_top_savings() -> None:
    [alert] = digest(MONDAY)
    assert alert.labels["week"] == "2026-W49"
    message = alert.message
    assert message.startswith("3 recommendations could save 512.50 USD per month")
    assert "etl: num_workers 8 → 3" in message
    assert "report" in message
    assert "load" not in message  # top 2 only
    assert alert.job_id is None


def test_same_fingerprint_all_week_new_one_next_week() -> None:
    monday, sunday, next_monday = digest(MONDAY), digest(MONDAY + timedelta(days=6)), digest(MONDAY + timedelta(days=7))
    assert monday[0].fingerprint == sunday[0].fingerprint
    assert monday[0].fingerprint != next_monday[0].fingerprint


def test_nothing_to_say_nothing_sent() -> None:
    assert digest(MONDAY, [r for r in ROWS if r["job_id"] == "4"]) == []
    assert digest(MONDAY, ROWS, Rule(name="big", kind=RuleKind.RECOMMENDATIONS_DIGEST,
                                     params={"min_total_savings": 1000})) == []
    assert digest(MONDAY, ROWS, Rule(name="fri", kind=RuleKind.RECOMMENDATIONS_DIGEST, params={"weekday": 5})) == []


def test_engine_sends_the_weeks_digest_once(receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "hook_local", {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port,
                                         "schema": "http", "password": "digest-secret"})
    channels = default_registry(load_plugins=False).build(
        [channel_settings("hook", "webhook", "hook_local", endpoint="/alerts")],
        retry=RetryPolicy(max_attempts=1), sleep=clock.sleep)
    policy = PolicyConfig(group_wait=timedelta(0), repeat_interval=timedelta(days=7))
    now = MONDAY
    engine = AlertManager(store=InMemoryAlertStore(), channels=channels, policy=policy, clock=lambda: now,
                          sleep=clock.sleep)
    for _ in range(48):  # every 30 minutes for a day: the same digest, one message
        engine.run_cycle(candidates=digest(now), evaluated_rules=[RULE.name])
        now += timedelta(minutes=30)
    assert len(receiver.delivered()) == 1
    now = MONDAY + timedelta(days=7)
    engine.run_cycle(candidates=digest(now), evaluated_rules=[RULE.name])
    firing = [r.json() for r in receiver.delivered() if r.json().get("status", "firing") == "firing"]
    assert len(firing) == 2  # next week's digest is a new alert
