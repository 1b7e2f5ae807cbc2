"""Policy behaviours with a fake clock: no Airflow, no HTTP."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from alerting_support import T0, FakeClock

from dataops_intelligence.alerting.matchers import Matcher, parse_matchers
from dataops_intelligence.alerting.model import (
    AlertCandidate,
    AlertState,
    AlertStatus,
    NotificationKind,
    Severity,
)
from dataops_intelligence.alerting.policy import AlertPolicy, needs_tracking
from dataops_intelligence.alerting.policy_config import (
    ChannelPolicy,
    EscalationRule,
    InhibitRule,
    MaintenanceWindow,
    PolicyConfig,
    Silence,
)

WAIT = timedelta(seconds=30)


def cand(
    job: str,
    rule: str = "job_failed",
    severity: Severity = Severity.ERROR,
    ws: str = "ws1",
    channels: tuple[str, ...] = ("slack",),
    **labels: str,
) -> AlertCandidate:
    return AlertCandidate(
        rule=rule,
        labels={"job_name": job, "job_id": job, "workspace_id": ws, **labels},
        severity=severity,
        message=f"{job} failed",
        alert_type="job_failure",
        job_id=job,
        channels=channels,
    )


class Cycle:
    """Runs the pure policy like the engine does: state in, state out."""

    def __init__(self, config: PolicyConfig, clock: FakeClock) -> None:
        self.policy = AlertPolicy(config)
        self.clock = clock
        self.state: dict[str, AlertState] = {}

    def run(self, candidates: list[AlertCandidate], evaluated: tuple[str, ...] = ("job_failed",)) -> list:
        decision = self.policy.decide(candidates, self.state.values(), self.clock(), evaluated)
        self.state = {s.fingerprint: s for s in decision.states if needs_tracking(s)}
        return decision.notifications

    def status(self, candidate: AlertCandidate) -> AlertStatus:
        return self.state[candidate.fingerprint].status


@pytest.fixture
def cycle(clock: FakeClock) -> Cycle:
    return Cycle(PolicyConfig(), clock)


def test_fingerprint_is_deterministic_and_label_order_free() -> None:
    a = AlertCandidate("r", {"a": "1", "b": "2"}, Severity.ERROR, "m")
    b = AlertCandidate("r", {"b": "2", "a": "1"}, Severity.WARNING, "other message")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != AlertCandidate("r2", {"a": "1", "b": "2"}, Severity.ERROR, "m").fingerprint


def test_forty_job_incident_is_one_grouped_message(cycle: Cycle, clock: FakeClock) -> None:
    jobs = [cand(f"etl_{i:02d}") for i in range(40)]
    assert cycle.run(jobs) == []  # group_wait collects siblings first
    clock.advance(31)
    sent = cycle.run(jobs)
    assert len(sent) == 1
    assert len(sent[0].alerts) == 40
    assert sent[0].kind is NotificationKind.FIRING


def test_one_message_per_group_per_channel(cycle: Cycle, clock: FakeClock) -> None:
    jobs = [cand(f"j{i}", channels=("slack", "email")) for i in range(5)] + [cand("x", ws="ws2")]
    cycle.run(jobs)
    clock.advance(31)
    sent = cycle.run(jobs)
    assert sorted((n.channel, len(n.alerts)) for n in sent) == [("email", 5), ("slack", 1), ("slack", 5)]


def test_repeat_interval_holds_then_repeats(cycle: Cycle, clock: FakeClock) -> None:
    job = [cand("a")]
    cycle.run(job)
    clock.advance(31)
    assert len(cycle.run(job)) == 1
    for _ in range(14):
        clock.advance(60)
        assert cycle.run(job) == []  # still firing, unchanged: held for 15 minutes
    clock.advance(60)
    assert len(cycle.run(job)) == 1
    assert cycle.state[job[0].fingerprint].sent_count == 2


def test_repeat_interval_survives_restart(clock: FakeClock) -> None:
    first = Cycle(PolicyConfig(), clock)
    first.run([cand("a")])
    clock.advance(31)
    assert len(first.run([cand("a")])) == 1
    restarted = Cycle(PolicyConfig(), clock)  # a new process with state read back from a store
    restarted.state = {fp: AlertState.from_row(s.to_row()) for fp, s in first.state.items()}
    clock.advance(60)
    assert restarted.run([cand("a")]) == []


def test_silence_mutes_until_it_expires(clock: FakeClock) -> None:
    silence = Silence(
        "s1", parse_matchers(["job_name=~etl_.*"]), T0, T0 + timedelta(minutes=10), "ana", "deploy"
    )
    cycle = Cycle(PolicyConfig(silences=(silence,)), clock)
    muted, other = cand("etl_1"), cand("report")
    cycle.run([muted, other])
    clock.advance(31)
    sent = cycle.run([muted, other])
    assert [a.labels["job_name"] for n in sent for a in n.alerts] == ["report"]
    assert cycle.status(muted) is AlertStatus.SILENCED
    assert cycle.state[muted.fingerprint].muted_by == "silence:s1"
    clock.advance(minutes=10)  # silence expired; "report" is inside its repeat interval
    sent = cycle.run([muted, other])
    assert [a.labels["job_name"] for n in sent for a in n.alerts] == ["etl_1"]


def test_maintenance_window_mutes(clock: FakeClock) -> None:
    # T0 is Thursday 12:00 UTC; window Thu 11:00-12:10 for workspace ws1 only
    ws1 = (Matcher("workspace_id", "=", "ws1"),)
    window = MaintenanceWindow("thu-patch", frozenset({3}), time(11), time(12, 10), "UTC", ws1)
    cycle = Cycle(PolicyConfig(maintenance_windows=(window,)), clock)
    jobs = [cand("a"), cand("b", ws="ws2")]
    cycle.run(jobs)
    clock.advance(31)
    sent = cycle.run(jobs)
    assert [a.labels["job_name"] for n in sent for a in n.alerts] == ["b"]
    assert cycle.state[jobs[0].fingerprint].muted_by == "maintenance:thu-patch"
    clock.advance(minutes=10)  # 12:10: window over; "b" is inside its repeat interval
    assert [a.labels["job_name"] for n in cycle.run(jobs) for a in n.alerts] == ["a"]


def test_maintenance_window_crossing_midnight() -> None:
    window = MaintenanceWindow("night", frozenset({4}), time(22), time(2), "Europe/Paris")
    friday_late = datetime.fromisoformat("2026-11-27T23:30:00+01:00")
    saturday_early = datetime.fromisoformat("2026-11-28T01:30:00+01:00")
    saturday_late = datetime.fromisoformat("2026-11-28T23:30:00+01:00")
    assert window.is_active(friday_late)
    assert window.is_active(saturday_early)
    assert not window.is_active(saturday_late)


def test_workspace_outage_inhibits_per_job_alerts(clock: FakeClock) -> None:
    rule = InhibitRule(
        parse_matchers(["rule=workspace_down"]), parse_matchers(["rule=job_failed"]), ("workspace_id",)
    )
    cycle = Cycle(PolicyConfig(inhibit_rules=(rule,)), clock)
    outage = AlertCandidate(
        "workspace_down", {"workspace_id": "ws1"}, Severity.CRITICAL, "ws1 unreachable", channels=("slack",)
    )
    jobs = [cand(f"j{i}") for i in range(10)] + [cand("elsewhere", ws="ws2")]
    cycle.run([outage, *jobs], evaluated=())
    clock.advance(31)
    sent = cycle.run([outage, *jobs], evaluated=())
    names = sorted(a.rule + ":" + a.labels.get("job_name", "") for n in sent for a in n.alerts)
    assert names == ["job_failed:elsewhere", "workspace_down:"]
    assert cycle.status(jobs[0]) is AlertStatus.INHIBITED


def test_cleared_condition_resolves_and_notifies(cycle: Cycle, clock: FakeClock) -> None:
    job = cand("a")
    cycle.run([job])
    clock.advance(31)
    cycle.run([job])
    clock.advance(300)
    sent = cycle.run([])  # rule evaluated, condition gone
    assert len(sent) == 1
    assert sent[0].kind is NotificationKind.RESOLVED
    assert sent[0].alerts[0].status is AlertStatus.RESOLVED
    assert sent[0].alerts[0].resolved_at == clock()
    assert cycle.state == {}


def test_resolve_within_group_wait_is_never_sent(cycle: Cycle, clock: FakeClock) -> None:
    cycle.run([cand("flappy")])
    clock.advance(10)
    assert cycle.run([]) == []
    clock.advance(60)
    assert cycle.run([]) == []
    assert cycle.state == {}


def test_channel_without_send_resolved_gets_no_resolved_message(clock: FakeClock) -> None:
    cycle = Cycle(PolicyConfig(channels={"email": ChannelPolicy(send_resolved=False)}), clock)
    job = cand("a", channels=("slack", "email"))
    cycle.run([job])
    clock.advance(31)
    cycle.run([job])
    clock.advance(300)
    assert [n.channel for n in cycle.run([])] == ["slack"]


def test_escalation_raises_severity_and_adds_route(clock: FakeClock) -> None:
    esc = EscalationRule(
        timedelta(minutes=30), parse_matchers(["rule=job_failed"]), Severity.CRITICAL, ("pager",)
    )
    cycle = Cycle(PolicyConfig(escalations=(esc,)), clock)
    job = cand("a")
    cycle.run([job])
    clock.advance(31)
    assert [n.channel for n in cycle.run([job])] == ["slack"]
    clock.advance(minutes=30)
    sent = cycle.run([job])  # escalated: re-notified at once, despite the repeat interval
    assert sorted(n.channel for n in sent) == ["pager", "slack"]
    assert all(n.alerts[0].severity is Severity.CRITICAL and n.alerts[0].escalation_level == 1 for n in sent)


def test_worsening_severity_renotifies_after_group_interval(cycle: Cycle, clock: FakeClock) -> None:
    cycle.run([cand("a", severity=Severity.WARNING)])
    clock.advance(31)
    cycle.run([cand("a", severity=Severity.WARNING)])
    clock.advance(301)
    sent = cycle.run([cand("a", severity=Severity.CRITICAL)])
    assert len(sent) == 1
    assert sent[0].severity is Severity.CRITICAL


def test_new_alert_in_notified_group_waits_for_group_interval(cycle: Cycle, clock: FakeClock) -> None:
    cycle.run([cand("a")])
    clock.advance(31)
    assert len(cycle.run([cand("a")])) == 1
    clock.advance(60)
    assert cycle.run([cand("a"), cand("b")]) == []
    clock.advance(240)
    sent = cycle.run([cand("a"), cand("b")])
    assert [a.labels["job_name"] for a in sent[0].alerts] == ["b"]


def test_per_cycle_cap_sends_a_summary(clock: FakeClock) -> None:
    config = PolicyConfig(
        group_by=("job_name",), channels={"slack": ChannelPolicy(rate_per_second=1.0, max_per_cycle=5)}
    )
    cycle = Cycle(config, clock)
    jobs = [cand(f"j{i:02d}") for i in range(30)]
    cycle.run(jobs)
    clock.advance(31)
    sent = cycle.run(jobs)
    assert len(sent) == 5
    summary = sent[-1]
    assert summary.kind is NotificationKind.SUMMARY
    assert summary.suppressed_groups == 26
    assert len(summary.alerts) == 26
    # paced at Slack's one message per second
    assert [(n.send_at - clock()).total_seconds() for n in sent] == [0, 1, 2, 3, 4]
    assert all(s.last_sent == clock() for s in cycle.state.values())


def test_event_alerts_expire_quietly(cycle: Cycle, clock: FakeClock) -> None:
    event = cand("task", rule="airflow_task_failed")
    cycle.run([event], evaluated=())
    clock.advance(31)
    assert len(cycle.run([], evaluated=())) == 1  # sent after group_wait even though not re-observed
    clock.advance(minutes=61)
    assert cycle.run([], evaluated=()) == []
    assert cycle.state == {}


def test_duplicate_candidates_in_one_cycle_keep_the_worst(cycle: Cycle, clock: FakeClock) -> None:
    cycle.run([cand("a", severity=Severity.WARNING), cand("a", severity=Severity.CRITICAL)])
    assert next(iter(cycle.state.values())).severity is Severity.CRITICAL


def test_hundred_thousand_candidates_decide_quickly(clock: FakeClock) -> None:
    policy = AlertPolicy(PolicyConfig())
    candidates = [cand(f"job{i}", ws=f"ws{i % 50}") for i in range(20_000)]
    decision = policy.decide(candidates, [], clock(), ("job_failed",))
    assert len(decision.states) == 20_000
