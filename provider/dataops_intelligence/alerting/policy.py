"""The pure alert policy: what to send, to whom, and when.

No Airflow, no HTTP, no clock of its own: :meth:`AlertPolicy.decide` takes this cycle's candidates,
the alert state read back from the store and ``now``, and returns notifications plus updated state.
Order, as an alert meets it: fingerprint → silences and maintenance windows → inhibition →
escalation → grouping (group_wait / group_interval) → repeat interval → per-channel cap and pacing.
"""

from __future__ import annotations

import gc
import hashlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dataops_intelligence.alerting.matchers import matches_all
from dataops_intelligence.alerting.model import (
    _RANK,
    AlertCandidate,
    AlertSnapshot,
    AlertState,
    AlertStatus,
    Notification,
    NotificationKind,
)
from dataops_intelligence.alerting.policy_config import InhibitRule, PolicyConfig

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping

_InhibitIndex = list[tuple[InhibitRule, dict[tuple[str, ...], set[str]]]]


@dataclass
class PolicyDecision:
    """The policy's output: notifications to put in the outbox and every alert state it touched."""

    notifications: list[Notification] = field(default_factory=list)
    states: list[AlertState] = field(default_factory=list)
    changed: list[AlertState] = field(default_factory=list)


def group_key_for(labels: Mapping[str, str], group_by: Iterable[str]) -> str:
    """Alerts with equal values for the ``group_by`` labels share one group (one message)."""
    return ",".join(f"{name}={labels.get(name, '')}" for name in group_by)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def needs_tracking(state: AlertState) -> bool:
    """Open alerts, and resolved ones whose resolved notification is still owed, stay in the store."""
    return state.is_open or (state.last_sent is not None and not state.resolve_notified)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while one decision builds its (acyclic) objects.

    A 100k-alert decision allocates a few hundred thousand dicts and dataclasses; the collector's
    generation scans over them took a third of the time. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class AlertPolicy:
    """Alertmanager-style fatigue policy over fingerprinted alert candidates (pure, clock injected)."""

    def __init__(self, config: PolicyConfig, channel_types: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._channel_types = dict(channel_types or {})

    def decide(
        self,
        candidates: Iterable[AlertCandidate],
        open_alerts: Iterable[AlertState],
        now: datetime,
        evaluated_rules: Collection[str] = (),
    ) -> PolicyDecision:
        """Run one cycle. ``evaluated_rules`` names the rules whose absent alerts have cleared."""
        with _no_cyclic_gc():
            return self._decide(candidates, open_alerts, now, evaluated_rules)

    def _decide(
        self,
        candidates: Iterable[AlertCandidate],
        open_alerts: Iterable[AlertState],
        now: datetime,
        evaluated_rules: Collection[str],
    ) -> PolicyDecision:
        states = {s.fingerprint: s.copy() for s in open_alerts}
        before = {fp: (s.status, s.last_sent, s.resolve_notified) for fp, s in states.items()}
        seen = self._observe(states, candidates, now)
        self._resolve(states, seen, frozenset(evaluated_rules), now)
        labels_of = self._mute(states, now)
        self._escalate(states, now, labels_of)
        notifications = self._limit(self._group(states, now, labels_of), now)
        touched = list(states.values())
        changed = [
            s for s in touched if before.get(s.fingerprint) != (s.status, s.last_sent, s.resolve_notified)
        ]
        return PolicyDecision(notifications=notifications, states=touched, changed=changed)

    # -- observe and resolve -------------------------------------------------------------------
    def _observe(
        self, states: dict[str, AlertState], candidates: Iterable[AlertCandidate], now: datetime
    ) -> set[str]:
        seen: set[str] = set()
        for cand in candidates:
            fp = cand.fingerprint
            current = states.get(fp)
            base = current.base_severity if current is not None else None
            if fp in seen and base is not None and _RANK[base] >= _RANK[cand.severity]:
                continue  # a duplicate in one cycle: keep the worst
            seen.add(fp)
            if current is None or current.status is AlertStatus.RESOLVED:
                states[fp] = self._new_state(cand, fp, now)
            else:
                current.last_seen, current.message, current.job_id = now, cand.message, cand.job_id
                current.base_severity = current.severity = cand.severity
                current.channels = cand.channels
        return seen

    def _new_state(self, cand: AlertCandidate, fp: str, now: datetime) -> AlertState:
        return AlertState(
            fingerprint=fp,
            rule=cand.rule,
            alert_type=cand.alert_type,
            labels=dict(cand.labels),
            severity=cand.severity,
            base_severity=cand.severity,
            message=cand.message,
            job_id=cand.job_id,
            channels=cand.channels,
            status=AlertStatus.FIRING,
            first_seen=now,
            last_seen=now,
            group_key=group_key_for(cand.match_labels(), self.config.group_by),
        )

    def _resolve(
        self, states: dict[str, AlertState], seen: set[str], evaluated: frozenset[str], now: datetime
    ) -> None:
        timeout = self.config.resolve_timeout
        for fp, state in states.items():
            if fp in seen or not state.is_open:
                continue
            if state.rule in evaluated:
                state.status, state.resolved_at = AlertStatus.RESOLVED, now
            elif state.status is AlertStatus.FIRING and state.last_sent is None:
                continue  # never notified yet (waiting for its group): it must not expire unseen
            elif now - state.last_seen >= timeout:
                # Event alerts (Airflow callbacks) never "clear"; they expire quietly.
                state.status, state.resolved_at, state.resolve_notified = AlertStatus.RESOLVED, now, True

    # -- silences, maintenance windows, inhibition --------------------------------------------
    def _mute(self, states: dict[str, AlertState], now: datetime) -> dict[str, dict[str, str]]:
        """Silences, windows and inhibition; returns the match labels of the open alerts (computed once)."""
        active = [s for s in states.values() if s.is_open]
        labels_of = {s.fingerprint: s.match_labels() for s in active}
        if not (self.config.silences or self.config.maintenance_windows or self.config.inhibit_rules):
            for state in active:
                state.status, state.muted_by = AlertStatus.FIRING, None
            return labels_of
        index = self._inhibition_index(active, labels_of)
        for state in active:
            labels = labels_of[state.fingerprint]
            reason = self._silenced_by(labels, now)
            if reason is not None:
                state.status, state.muted_by = AlertStatus.SILENCED, reason
                continue
            reason = self._inhibited_by(state, labels, index)
            state.status = AlertStatus.INHIBITED if reason else AlertStatus.FIRING
            state.muted_by = reason
        return labels_of

    def _silenced_by(self, labels: Mapping[str, str], now: datetime) -> str | None:
        for silence in self.config.silences:
            if silence.mutes(labels, now):
                return f"silence:{silence.silence_id}"
        for window in self.config.maintenance_windows:
            if window.mutes(labels, now):
                return f"maintenance:{window.name}"
        return None

    def _inhibition_index(
        self, active: list[AlertState], labels_of: Mapping[str, dict[str, str]]
    ) -> _InhibitIndex:
        index: _InhibitIndex = []
        for rule in self.config.inhibit_rules:
            sources: dict[tuple[str, ...], set[str]] = defaultdict(set)
            for state in active:
                labels = labels_of[state.fingerprint]
                if matches_all(rule.source_matchers, labels):
                    sources[tuple(labels.get(k, "") for k in rule.equal)].add(state.fingerprint)
            index.append((rule, sources))
        return index

    @staticmethod
    def _inhibited_by(state: AlertState, labels: Mapping[str, str], index: _InhibitIndex) -> str | None:
        for rule, sources in index:
            if not sources or not matches_all(rule.target_matchers, labels):
                continue
            if matches_all(rule.source_matchers, labels):
                continue  # no self-inhibition: an alert on both sides is never muted by its peers
            fps = sources.get(tuple([labels.get(k, "") for k in rule.equal]))
            if not fps or (len(fps) == 1 and state.fingerprint in fps):
                continue
            others = sorted(fps - {state.fingerprint})
            return f"inhibited:{others[0][:16]}"
        return None

    # -- escalation ----------------------------------------------------------------------------
    def _escalate(
        self, states: dict[str, AlertState], now: datetime, labels_of: Mapping[str, dict[str, str]]
    ) -> None:
        rules = self.config.escalations
        if not rules:
            return
        for state in states.values():
            if state.status is not AlertStatus.FIRING:
                continue
            age = now - state.first_seen
            applicable = [r for r in rules if age >= r.after]
            if not applicable:
                continue  # nothing to raise or add: the state stays as it is
            labels = labels_of.get(state.fingerprint) or state.match_labels()
            level, severity, channels = 0, state.base_severity or state.severity, list(state.channels)
            for rule in applicable:
                if rule.matchers and not matches_all(rule.matchers, labels):
                    continue
                level += 1
                if rule.raise_to is not None and _RANK[rule.raise_to] > _RANK[severity]:
                    severity = rule.raise_to
                channels.extend(c for c in rule.add_channels if c not in channels)
            state.escalation_level = max(state.escalation_level, level)
            if _RANK[severity] > _RANK[state.severity]:
                state.severity = severity
            state.channels = tuple(channels)

    # -- grouping and repeat interval ----------------------------------------------------------
    def _due_firing(self, state: AlertState, now: datetime) -> bool:
        if state.status is not AlertStatus.FIRING:
            return False
        if state.last_sent is None:
            return True
        if state.notified_severity is None or _RANK[state.severity] > _RANK[state.notified_severity]:
            return True  # worsened since the last message: tell people now
        return state.last_seen == now and now - state.last_sent >= self.config.repeat_interval

    @staticmethod
    def _due_resolved(state: AlertState) -> bool:
        return (
            state.status is AlertStatus.RESOLVED
            and state.last_sent is not None
            and not state.resolve_notified
        )

    def _group_ready(self, members: list[AlertState], due: list[AlertState], now: datetime) -> bool:
        sent = [s.last_sent for s in members if s.last_sent is not None]
        if sent:
            return now - max(sent) >= self.config.group_interval
        return now - min(s.first_seen for s in due) >= self.config.group_wait

    def next_due(self, open_alerts: Iterable[AlertState], now: datetime) -> datetime | None:
        """When a group with unsent alerts becomes ready (``now`` if it is), None if none has any.

        What a flush needs to know to come back in time without another event arriving.
        """
        groups: dict[str, list[AlertState]] = defaultdict(list)
        for state in open_alerts:
            groups[state.group_key].append(state)
        times = []
        for members in groups.values():
            due = [
                s
                for s in members
                if (s.status is AlertStatus.FIRING and s.last_sent is None) or self._due_resolved(s)
            ]
            if not due:
                continue
            if self._group_ready(members, due, now):
                times.append(now)  # due now (a sibling that just expired may have held it back)
                continue
            sent = [s.last_sent for s in members if s.last_sent is not None]
            if sent:
                times.append(max(sent) + self.config.group_interval)
            else:
                times.append(min(s.first_seen for s in due) + self.config.group_wait)
        return min(times, default=None)

    def _group(
        self, states: dict[str, AlertState], now: datetime, labels_of: Mapping[str, dict[str, str]]
    ) -> list[Notification]:
        groups: dict[str, list[AlertState]] = defaultdict(list)
        for state in states.values():
            groups[state.group_key].append(state)
        notifications: list[Notification] = []
        for key in sorted(groups):
            members = groups[key]
            due = [s for s in members if self._due_firing(s, now) or self._due_resolved(s)]
            if due and self._group_ready(members, due, now):
                notifications.extend(self._notify_group(key, due, now, labels_of))
        return notifications

    def _notify_group(
        self, key: str, due: list[AlertState], now: datetime, labels_of: Mapping[str, dict[str, str]]
    ) -> list[Notification]:
        # One ordering and one snapshot per alert, shared by every channel's notification.
        due = sorted(due, key=lambda s: (-_RANK[s.severity], s.labels.get("job_name", ""), s.fingerprint))
        snaps = {s.fingerprint: AlertSnapshot.of(s) for s in due}
        common = self._common_labels([labels_of.get(s.fingerprint) or s.match_labels() for s in due])
        by_channel: dict[str, list[AlertState]] = defaultdict(list)
        sent_to: dict[str, list[str]] = defaultdict(list)
        for state in due:
            firing = state.status is AlertStatus.FIRING
            for channel in state.channels:
                if firing or self.config.channel(channel, self._channel_types.get(channel)).send_resolved:
                    by_channel[channel].append(state)
                    sent_to[state.fingerprint].append(channel)
        out = [
            self._notification(channel, key, members, now, snaps, common) for channel, members in by_channel.items()
        ]
        for state in due:
            self._mark_notified(state, now, sent_to[state.fingerprint])
        return out

    @staticmethod
    def _mark_notified(state: AlertState, now: datetime, channels: list[str]) -> None:
        if state.status is AlertStatus.RESOLVED:
            state.resolve_notified = True
            return
        state.last_sent, state.sent_count, state.notified_severity = now, state.sent_count + 1, state.severity
        state.channels_sent = tuple(dict.fromkeys((*state.channels_sent, *channels)))

    @staticmethod
    def _notification(
        channel: str,
        key: str,
        members: list[AlertState],
        now: datetime,
        snapshots: Mapping[str, AlertSnapshot],
        group_common: dict[str, str],
    ) -> Notification:
        firing = any(s.status is AlertStatus.FIRING for s in members)
        snaps = tuple(snapshots[s.fingerprint] for s in members)
        ident = ";".join([s.fingerprint + ":" + s.status.value for s in members])
        common = group_common if len(members) == len(snapshots) else AlertPolicy._common_labels(
            [s.match_labels() for s in members]
        )
        return Notification(
            dedup_key=_digest(channel, key, now.isoformat(), ident),
            channel=channel,
            group_key=key,
            kind=NotificationKind.FIRING if firing else NotificationKind.RESOLVED,
            alerts=snaps,
            group_labels=common,
            created_at=now,
            send_at=now,
        )

    @staticmethod
    def _common_labels(labels: list[dict[str, str]]) -> dict[str, str]:
        first, *rest = labels
        common = dict(first)
        for other in rest:
            for k in [k for k, v in common.items() if other.get(k) != v]:
                del common[k]
            if not common:
                break
        return common

    # -- per-channel cap and pacing ------------------------------------------------------------
    def _limit(self, notifications: list[Notification], now: datetime) -> list[Notification]:
        by_channel: dict[str, list[Notification]] = defaultdict(list)
        for item in notifications:
            by_channel[item.channel].append(item)
        out: list[Notification] = []
        for channel, items in by_channel.items():
            policy = self.config.channel(channel, self._channel_types.get(channel))
            items.sort(key=lambda n: (-_RANK[n.severity], n.group_key))
            cap = max(policy.max_per_cycle, 1)
            if len(items) > cap:
                items = [*items[: cap - 1], self._summary(channel, items[cap - 1 :], now)]
            step = 1.0 / policy.rate_per_second if policy.rate_per_second else 0.0
            out.extend(replace(n, send_at=now + timedelta(seconds=i * step)) for i, n in enumerate(items))
        return out

    @staticmethod
    def _summary(channel: str, rest: list[Notification], now: datetime) -> Notification:
        alerts = tuple(a for n in rest for a in n.alerts)
        return Notification(
            dedup_key=_digest(channel, "summary", now.isoformat(), *(n.dedup_key for n in rest)),
            channel=channel,
            group_key="summary",
            kind=NotificationKind.SUMMARY,
            alerts=alerts,
            group_labels={},
            created_at=now,
            send_at=now,
            suppressed_groups=len(rest),
        )
