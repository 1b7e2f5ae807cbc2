"""Alerting configuration: the ``alerting`` section (channels, repeat interval, and the alert
engine's rules, routes, silences, maintenance windows, inhibition, escalation and grouping).

The same rule/policy models validate ``config/alerting_rules.yaml`` (the provider's
``dataops_intelligence.alerting.rules_loader``), so there is one schema for both places.

Channels hold Airflow connection ids and secret references only; the transport settings (webhook
URLs, tokens, SMTP passwords) live in the Airflow connections.
"""

from __future__ import annotations

import re
from datetime import datetime, time  # noqa: TC003 - pydantic resolves these annotations at runtime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from dataops_jobs.config.types import ConnId, EmailAddress, FieldProblem, SecretRef, StrictModel

__all__ = [
    "AlertRuleConfig",
    "AlertingConfig",
    "ChannelsConfig",
    "EmailChannelConfig",
    "EscalationConfig",
    "GroupingConfig",
    "InhibitRuleConfig",
    "MaintenanceWindowConfig",
    "SilenceConfig",
    "SlackChannelConfig",
    "TeamsChannelConfig",
    "WebhookChannelConfig",
]


class SlackChannelConfig(StrictModel):
    """Slack through the Airflow Slack provider: an incoming-webhook connection, or the Web API."""

    enabled: bool = True
    conn_id: ConnId = "slack_default"
    channel: str | None = None
    use_web_api: bool = False
    test_channel: str | None = None

    @model_validator(mode="after")
    def _web_api_needs_channel(self) -> SlackChannelConfig:
        # An incoming webhook is bound to its channel; the Web API must be told where to post.
        if self.enabled and self.use_web_api and not self.channel:
            raise FieldProblem(
                "channel", "expected a channel (such as #dataops-alerts) when use_web_api is true"
            )
        return self


class EmailChannelConfig(StrictModel):
    """Email through an Airflow SMTP connection."""

    enabled: bool = True
    conn_id: ConnId = "smtp_default"
    recipients: list[EmailAddress] = Field(default_factory=list)
    from_email: EmailAddress | None = None
    subject_prefix: str = "[DataOps]"

    @model_validator(mode="after")
    def _enabled_needs_recipients(self) -> EmailChannelConfig:
        if self.enabled and not self.recipients:
            raise FieldProblem(
                "recipients", "expected at least one recipient when the email channel is enabled"
            )
        return self


class TeamsChannelConfig(StrictModel):
    """Microsoft Teams through a Workflows webhook held in an Airflow connection."""

    enabled: bool = True
    conn_id: ConnId = "teams_default"


class WebhookChannelConfig(StrictModel):
    """A generic JSON webhook; payloads are HMAC-SHA256 signed when a signing secret is referenced."""

    enabled: bool = True
    conn_id: ConnId = "dataops_webhook"
    signing_secret: SecretRef | None = None


class ChannelsConfig(StrictModel):
    """The built-in channels; a channel left out (None) is not configured."""

    slack: SlackChannelConfig | None = None
    email: EmailChannelConfig | None = None
    teams: TeamsChannelConfig | None = None
    webhook: WebhookChannelConfig | None = None

    def enabled_names(self) -> list[str]:
        """Names of the channels that are configured and enabled, in declaration order."""
        names = ("slack", "email", "teams", "webhook")
        return [name for name in names if (channel := getattr(self, name)) is not None and channel.enabled]


# -- Rules, routing and fatigue policy (the alert engine's section; see config/alerting_rules.yaml) --

RuleKindName = Literal[
    "job_failure", "health_score", "anomaly", "sla_duration", "sla_deadline", "sla_breach", "cost_spike", "stale_data"
]
SeverityName = Literal["info", "warning", "error", "critical"]
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_matchers(items: list[str]) -> list[str]:
    """Alertmanager matchers: ``name=value``, ``!=``, ``=~regex``, ``!~regex`` (regexes must compile)."""
    for item in items:
        found = _MATCHER.match(item)
        if found is None:
            raise ValueError(
                f"invalid matcher {item!r} (expected name=value, name!=value, name=~re or name!~re)"
            )
        if found.group(2) in ("=~", "!~"):
            try:
                re.compile(found.group(3).strip("\"'"))
            except re.error as err:
                raise ValueError(f"invalid regex in matcher {item!r}: {err}") from None
    return items


Matchers = Annotated[list[str], AfterValidator(_check_matchers)]


class AlertRuleConfig(StrictModel):
    """One alert rule: kind, matchers on job name (glob or ``re:``), tags and workspaces, routes."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: RuleKindName
    severity: SeverityName = "warning"
    job_name: str = "*"
    tags: dict[str, str] = Field(default_factory=dict)
    workspaces: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    routes: list[str] = Field(default_factory=list)
    params: dict[str, float | int | str] = Field(default_factory=dict)
    enabled: bool = True


class SilenceConfig(StrictModel):
    """An ad hoc silence: matchers, validity window, author and comment are all required."""

    id: str
    matchers: Matchers = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    @model_validator(mode="after")
    def _ends_after_start(self) -> SilenceConfig:
        if self.ends_at <= self.starts_at:
            raise FieldProblem("ends_at", "expected ends_at after starts_at")
        return self


class MaintenanceWindowConfig(StrictModel):
    """A recurring weekly window (weekday names or 0=Monday..6; may cross midnight)."""

    name: str
    weekdays: list[str | int] = Field(min_length=1)
    start: time
    end: time
    timezone: str = "UTC"
    matchers: Matchers = Field(default_factory=list)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[str | int]) -> list[str | int]:
        for day in value:
            ok = 0 <= day <= 6 if isinstance(day, int) else str(day)[:3].lower() in _WEEKDAYS
            if not ok:
                raise ValueError(f"unknown weekday {day!r}")
        return value


class InhibitRuleConfig(StrictModel):
    """While a source alert fires, mute targets sharing the ``equal`` labels (outage → per-job)."""

    source_matchers: Matchers = Field(min_length=1)
    target_matchers: Matchers = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class EscalationConfig(StrictModel):
    """Escalate alerts that keep firing: raise severity and/or add channels."""

    after_minutes: float = Field(gt=0)
    matchers: Matchers = Field(default_factory=list)
    raise_to: SeverityName | None = None
    add_channels: list[str] = Field(default_factory=list)


class GroupingConfig(StrictModel):
    """Grouping and timing (Alertmanager semantics; the repeat interval is ``rate_limit_minutes``)."""

    group_by: list[str] = Field(default_factory=lambda: ["rule", "workspace_id"])
    group_wait_seconds: float = Field(default=30, ge=0)
    group_interval_seconds: float = Field(default=300, ge=0)
    resolve_timeout_minutes: float = Field(default=60, gt=0)


class AlertingConfig(StrictModel):
    """The ``alerting`` section: global switch, repeat interval per fingerprint, channels, and the
    rules and fatigue policy the alert engine adds to those of ``config/alerting_rules.yaml``."""

    enabled: bool = True
    rate_limit_minutes: int = Field(default=15, ge=0)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    grouping: GroupingConfig = Field(default_factory=GroupingConfig)
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    silences: list[SilenceConfig] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindowConfig] = Field(default_factory=list)
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    escalations: list[EscalationConfig] = Field(default_factory=list)
