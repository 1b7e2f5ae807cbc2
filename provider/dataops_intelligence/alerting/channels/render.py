"""Channel-neutral text rendering of a notification (pure): titles, one line per alert, truncation."""

from __future__ import annotations

from dataops_intelligence.alerting.model import AlertSnapshot, AlertStatus, Notification, NotificationKind

TRUNCATION_MARK = "… (truncated)"
SEVERITY_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "error": ":x:",
    "critical": ":rotating_light:",
}


def truncate(text: str, limit: int, mark: str = TRUNCATION_MARK) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut so readers know something is missing."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(mark), 0)] + mark[:limit]


def counts(notification: Notification) -> tuple[int, int]:
    firing = sum(1 for a in notification.alerts if a.status is not AlertStatus.RESOLVED)
    return firing, len(notification.alerts) - firing


def title(notification: Notification) -> str:
    """``[FIRING:40] job_failure workspace_id=1`` style title."""
    firing, resolved = counts(notification)
    if notification.kind is NotificationKind.SUMMARY:
        return (
            f"[SUMMARY] {notification.suppressed_groups} more alert groups "
            f"({len(notification.alerts)} alerts) this cycle"
        )
    state = f"FIRING:{firing}" if firing else f"RESOLVED:{resolved}"
    labels = " ".join(
        f"{k}={v}"
        for k, v in sorted(notification.group_labels.items())
        if k in ("rule", "workspace_id", "cluster_id", "job_name")
    )
    return f"[{state}] {notification.severity.value.upper()} {labels}".strip()


def alert_line(alert: AlertSnapshot) -> str:
    """One human line per alert."""
    status = "RESOLVED" if alert.status is AlertStatus.RESOLVED else alert.severity.value.upper()
    who = alert.labels.get("job_name") or alert.labels.get("source") or alert.rule
    escalated = f" (escalation {alert.escalation_level})" if alert.escalation_level else ""
    return f"[{status}] {who}: {alert.message}{escalated}"


def text_body(notification: Notification, max_lines: int = 200) -> str:
    """A plain-text body: title, one line per alert (capped), dedup key."""
    lines = [title(notification), ""]
    shown = notification.alerts[:max_lines]
    lines.extend(alert_line(a) for a in shown)
    hidden = len(notification.alerts) - len(shown)
    if hidden:
        lines.append(f"… and {hidden} more alerts {TRUNCATION_MARK}")
    lines += ["", f"dedup_key: {notification.dedup_key}"]
    return "\n".join(lines)
