"""Alerting value objects: candidates, alert state, notifications and outbox deliveries.

Every record round-trips through plain dicts of primitive types (``to_row`` / ``from_row``) so that
any store (memory, SQLite, Delta) can persist it without knowing these classes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

Row = dict[str, Any]


class Severity(str, Enum):
    """Alert severity, ordered: info < warning < error < critical."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def raised(self, steps: int = 1) -> Severity:
        """The severity ``steps`` levels higher, capped at critical."""
        return _SEVERITY_ORDER[min(self.rank + steps, len(_SEVERITY_ORDER) - 1)]


_SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL)
_RANK = {severity: i for i, severity in enumerate(_SEVERITY_ORDER)}


class AlertStatus(str, Enum):
    """Where an alert stands after the policy ran."""

    FIRING = "firing"
    RESOLVED = "resolved"
    SILENCED = "silenced"
    INHIBITED = "inhibited"


class DeliveryStatus(str, Enum):
    """Outbox state of one delivery: pending is written before the send, sent/failed after.

    A delivery blocked by a configuration fault (missing connection, bad URL, TLS mismatch, missing
    signing secret) stays ``pending`` with ``last_error`` starting with :data:`CONFIG_ERROR_PREFIX`
    and is re-tried every cycle until the fault is fixed or it is too old. ``superseded``: a newer
    notification on the same channel carries all its alerts, so it is never sent (no page twice).
    """

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"


#: ``last_error`` prefix of a pending delivery blocked by a configuration fault.
CONFIG_ERROR_PREFIX = "configuration: "


class NotificationKind(str, Enum):
    """What a notification carries: firing alerts, resolved alerts, or an overflow summary."""

    FIRING = "firing"
    RESOLVED = "resolved"
    SUMMARY = "summary"


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """Deterministic dedup key: sha256 over the rule and the sorted label set.

    Fields are joined with ASCII unit/record separators, which never occur in label text, so the
    encoding is unambiguous (and three times faster than JSON on the 100k-alert benchmark).
    """
    items = sorted([(str(k), str(v)) for k, v in labels.items()])
    parts = [rule]
    parts += [k + "\x1f" + v for k, v in items]  # list comprehensions: faster than generators here
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _need_dt(value: Any) -> datetime:
    parsed = _dt(value)
    if parsed is None:
        raise ValueError("timestamp is required")
    return parsed


@dataclass(frozen=True)
class AlertCandidate:
    """One firing condition produced by a rule (or an Airflow callback) in one cycle."""

    rule: str
    labels: Mapping[str, str]
    severity: Severity
    message: str
    alert_type: str = "custom"
    job_id: str | None = None
    channels: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule, self.labels)

    def match_labels(self) -> dict[str, str]:
        """Labels matchers see: the alert labels plus rule, alert_type and severity."""
        return {
            **self.labels,
            "rule": self.rule,
            "alert_type": self.alert_type,
            "severity": self.severity.value,
        }


@dataclass
class AlertState:
    """The durable record of one alert (one fingerprint), updated every cycle it is seen."""

    fingerprint: str
    rule: str
    alert_type: str
    labels: dict[str, str]
    severity: Severity
    message: str
    job_id: str | None
    channels: tuple[str, ...]
    status: AlertStatus
    first_seen: datetime
    last_seen: datetime
    group_key: str = ""
    last_sent: datetime | None = None
    sent_count: int = 0
    escalation_level: int = 0
    base_severity: Severity | None = None
    notified_severity: Severity | None = None
    resolved_at: datetime | None = None
    resolve_notified: bool = False
    muted_by: str | None = None
    channels_sent: tuple[str, ...] = ()

    @property
    def alert_id(self) -> str:
        """One id per episode: the fingerprint plus the time the episode started."""
        return f"{self.fingerprint[:24]}-{int(self.first_seen.timestamp())}"

    @property
    def is_open(self) -> bool:
        return self.status is not AlertStatus.RESOLVED

    def match_labels(self) -> dict[str, str]:
        return {
            **self.labels,
            "rule": self.rule,
            "alert_type": self.alert_type,
            "severity": self.severity.value,
        }

    def copy(self) -> AlertState:
        # dataclasses.replace re-runs __init__ and copy.copy goes through __reduce_ex__: a plain
        # __dict__ copy is several times faster on 100k alerts.
        clone = object.__new__(AlertState)
        clone.__dict__.update(self.__dict__)
        clone.labels = dict(self.labels)
        return clone

    def to_row(self) -> Row:
        return {
            "fingerprint": self.fingerprint,
            "alert_id": self.alert_id,
            "rule": self.rule,
            "alert_type": self.alert_type,
            "labels": dict(self.labels),
            "severity": self.severity.value,
            "message": self.message,
            "job_id": self.job_id,
            "channels": list(self.channels),
            "status": self.status.value,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "group_key": self.group_key,
            "last_sent": _iso(self.last_sent),
            "sent_count": self.sent_count,
            "escalation_level": self.escalation_level,
            "base_severity": self.base_severity.value if self.base_severity else None,
            "notified_severity": self.notified_severity.value if self.notified_severity else None,
            "resolved_at": _iso(self.resolved_at),
            "resolve_notified": self.resolve_notified,
            "muted_by": self.muted_by,
            "channels_sent": list(self.channels_sent),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AlertState:
        base, notified = row.get("base_severity"), row.get("notified_severity")
        return cls(
            fingerprint=row["fingerprint"],
            rule=row["rule"],
            alert_type=row["alert_type"],
            labels=dict(row["labels"]),
            severity=Severity(row["severity"]),
            message=row["message"],
            job_id=row.get("job_id"),
            channels=tuple(row.get("channels") or ()),
            status=AlertStatus(row["status"]),
            first_seen=_need_dt(row["first_seen"]),
            last_seen=_need_dt(row["last_seen"]),
            group_key=row.get("group_key") or "",
            last_sent=_dt(row.get("last_sent")),
            sent_count=int(row.get("sent_count") or 0),
            escalation_level=int(row.get("escalation_level") or 0),
            base_severity=Severity(base) if base else None,
            notified_severity=Severity(notified) if notified else None,
            resolved_at=_dt(row.get("resolved_at")),
            resolve_notified=bool(row.get("resolve_notified")),
            muted_by=row.get("muted_by"),
            channels_sent=tuple(row.get("channels_sent") or ()),
        )

    def history_row(self, deliveries: list[str] | None = None) -> Row:
        """The ``alert_history`` row: the seed's columns plus fingerprint, status, group and deliveries."""
        return {
            "alert_id": self.alert_id,
            "job_id": self.job_id,
            "alert_type": self.alert_type,
            "severity": self.severity.value,
            "message": self.message,
            "created_at": _iso(self.first_seen),
            "resolved_at": _iso(self.resolved_at),
            "channels_sent": ",".join(self.channels_sent),
            "fingerprint": self.fingerprint,
            "status": self.status.value,
            "group_key": self.group_key,
            "rule": self.rule,
            "deliveries": ",".join(deliveries or ()),
            "escalation_level": self.escalation_level,
            "updated_at": _iso(self.last_seen),
        }


@dataclass(frozen=True)
class AlertSnapshot:
    """An alert as shown in one notification (what the channels render)."""

    fingerprint: str
    rule: str
    alert_type: str
    severity: Severity
    status: AlertStatus
    message: str
    job_id: str | None
    labels: Mapping[str, str]
    starts_at: datetime
    resolved_at: datetime | None = None
    escalation_level: int = 0

    @classmethod
    def of(cls, state: AlertState) -> AlertSnapshot:
        # Filled through __dict__: the frozen dataclass __init__ (object.__setattr__ per field) was
        # a tenth of a 100k-alert decision. Same fields, same values.
        snap = object.__new__(cls)
        snap.__dict__.update(
            fingerprint=state.fingerprint,
            rule=state.rule,
            alert_type=state.alert_type,
            severity=state.severity,
            status=state.status,
            message=state.message,
            job_id=state.job_id,
            labels=dict(state.labels),
            starts_at=state.first_seen,
            resolved_at=state.resolved_at,
            escalation_level=state.escalation_level,
        )
        return snap

    def to_dict(self) -> Row:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "alert_type": self.alert_type,
            "severity": self.severity.value,
            "status": self.status.value,
            "message": self.message,
            "job_id": self.job_id,
            "labels": dict(self.labels),
            "starts_at": _iso(self.starts_at),
            "resolved_at": _iso(self.resolved_at),
            "escalation_level": self.escalation_level,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> AlertSnapshot:
        return cls(
            fingerprint=row["fingerprint"],
            rule=row["rule"],
            alert_type=row["alert_type"],
            severity=Severity(row["severity"]),
            status=AlertStatus(row["status"]),
            message=row["message"],
            job_id=row.get("job_id"),
            labels=dict(row.get("labels") or {}),
            starts_at=_need_dt(row["starts_at"]),
            resolved_at=_dt(row.get("resolved_at")),
            escalation_level=int(row.get("escalation_level") or 0),
        )


@dataclass(frozen=True)
class Notification:
    """One message for one group on one channel; ``dedup_key`` is stable across retries."""

    dedup_key: str
    channel: str
    group_key: str
    kind: NotificationKind
    alerts: tuple[AlertSnapshot, ...]
    group_labels: Mapping[str, str]
    created_at: datetime
    send_at: datetime
    suppressed_groups: int = 0

    @property
    def severity(self) -> Severity:
        return max((a.severity for a in self.alerts), key=_RANK.__getitem__, default=Severity.INFO)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(a.fingerprint for a in self.alerts)

    def to_dict(self) -> Row:
        return {
            "dedup_key": self.dedup_key,
            "channel": self.channel,
            "group_key": self.group_key,
            "kind": self.kind.value,
            "alerts": [a.to_dict() for a in self.alerts],
            "group_labels": dict(self.group_labels),
            "created_at": _iso(self.created_at),
            "send_at": _iso(self.send_at),
            "suppressed_groups": self.suppressed_groups,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Notification:
        return cls(
            dedup_key=row["dedup_key"],
            channel=row["channel"],
            group_key=row["group_key"],
            kind=NotificationKind(row["kind"]),
            alerts=tuple(AlertSnapshot.from_dict(a) for a in row["alerts"]),
            group_labels=dict(row.get("group_labels") or {}),
            created_at=_need_dt(row["created_at"]),
            send_at=_need_dt(row["send_at"]),
            suppressed_groups=int(row.get("suppressed_groups") or 0),
        )


@dataclass
class Delivery:
    """An outbox record: written pending before the send, marked sent or failed after."""

    delivery_id: str
    channel: str
    notification: Row
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    fingerprints: tuple[str, ...] = field(default=())

    @classmethod
    def for_notification(cls, notification: Notification) -> Delivery:
        return cls(
            delivery_id=notification.dedup_key,
            channel=notification.channel,
            notification=notification.to_dict(),
            next_attempt_at=notification.created_at,
            created_at=notification.created_at,
            fingerprints=notification.fingerprints,
        )

    def to_row(self) -> Row:
        return {
            "delivery_id": self.delivery_id,
            "channel": self.channel,
            "notification": self.notification,
            "status": self.status.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt_at": _iso(self.next_attempt_at),
            "created_at": _iso(self.created_at),
            "sent_at": _iso(self.sent_at),
            "fingerprints": list(self.fingerprints),
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Delivery:
        return cls(
            delivery_id=row["delivery_id"],
            channel=row["channel"],
            notification=dict(row["notification"]),
            status=DeliveryStatus(row["status"]),
            attempts=int(row.get("attempts") or 0),
            last_error=row.get("last_error"),
            next_attempt_at=_dt(row.get("next_attempt_at")),
            created_at=_dt(row.get("created_at")),
            sent_at=_dt(row.get("sent_at")),
            fingerprints=tuple(row.get("fingerprints") or ()),
        )


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel reports after trying to deliver one notification (errors already redacted)."""

    ok: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None
    retryable: bool = True
    config_error: bool = False  # fixable by configuration: kept pending and re-tried every cycle
