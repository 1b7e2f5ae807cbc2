"""Alerting configuration: the ``alerting`` section (channels, repeat interval, and the alert
engine's rules, routes, silences, maintenance windows, inhibition, escalation and grouping).

The same rule/policy models validate ``config/alerting_rules.yaml`` (the provider's
``dataops_intelligence.alerting.rules_loader``), so there is one schema for both places.

Channels have one schema (:class:`ChannelConfig`) here and in the rules file; the keys of the older
per-channel schema (``recipients``, ``signing_secret: env:...``, ``use_web_api``...) are rejected
with what to write instead. Channels hold Airflow connection ids and secret references only; the
transport settings (webhook URLs, tokens, SMTP passwords) live in the Airflow connections.
"""

from __future__ import annotations

import re
from datetime import datetime, time  # noqa: TC003 - pydantic resolves these annotations at runtime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from dataops_jobs.config.types import ConnId, FieldProblem, StrictModel

_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+")


def is_secret_like(text: str) -> bool:
    """A value that looks like a secret rather than a name (long, URL-ish or token-shaped)."""
    return "://" in text or len(text) > 64 or text.lower().startswith(("xox", "dapi", "ghp_", "sk-"))

__all__ = [
    "DEFAULT_CHANNEL_TYPES",
    "AlertRuleConfig",
    "AlertingConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "EscalationConfig",
    "GroupingConfig",
    "InhibitRuleConfig",
    "MaintenanceWindowConfig",
    "SilenceConfig",
]


#: The type a built-in channel name gets when ``type`` is left out (``alerting.channels.slack: {...}``).
DEFAULT_CHANNEL_TYPES = {"slack": "slack_webhook", "email": "email", "teams": "teams", "webhook": "webhook"}

#: Keys of the older per-channel schema, and what to write instead (one schema since issue 13).
_OLD_KEYS = {
    "recipients": "write options.to: [oncall@example.com, ...] instead",
    "from_email": "write options.from_email instead",
    "subject_prefix": "write options.subject_prefix instead",
    "channel": 'write type: slack_api and options.channel: "#dataops-alerts" instead',
    "use_web_api": "write type: slack_api (the Web API) or type: slack_webhook (an incoming webhook) instead",
    "test_channel": "write options.test_channel instead",
    "secret_env": "write options.secret_env instead",
    "endpoint": "write options.endpoint instead",
    "to": "write options.to instead",
}


def _signing_secret_hint(value: object) -> str:
    """What to write instead of ``signing_secret``; echoes only a variable or connection *name*."""
    text = str(value.get("env") or value.get("conn_id") or "") if isinstance(value, dict) else str(value)
    is_conn = (isinstance(value, dict) and bool(value.get("conn_id"))) or text.startswith("conn:")
    name = text.removeprefix("conn:").removeprefix("env:")
    safe = name if re.fullmatch(r"[A-Za-z0-9_.:\-]{1,250}", name) and not is_secret_like(name) else None
    if is_conn:
        return f"write options.secret_conn_id: {safe or '<connection id>'} instead"
    return f"write options.secret_env: {safe or '<ENVIRONMENT_VARIABLE>'} instead (the variable's name, never the secret)"


class ChannelConfig(StrictModel):
    """One alert channel, the same schema in ``alerting.channels`` and in the rules file's ``channels``.

    ``type`` is a channel type of the registry (``slack_webhook``, ``slack_api``, ``email``, ``teams``,
    ``webhook``, ``file`` or a third-party type); ``conn_id`` the Airflow connection holding the URL or
    credentials (never the secret itself); ``options`` what the type needs (``to`` for email,
    ``channel`` for slack_api, ``secret_env`` for a signed webhook, ``path`` for file...), checked
    against the type when the alert engine loads.
    """

    type: str = Field(min_length=1)
    enabled: bool = True
    conn_id: ConnId | None = None
    send_resolved: bool = True
    rate_per_second: float | None = Field(default=None, gt=0)
    max_per_cycle: int = Field(default=20, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, hint in _OLD_KEYS.items():
            if key in data:
                raise FieldProblem(key, f"{key} is not a channel key any more: {hint}")
        if "signing_secret" in data:  # the value may be a pasted secret: never echoed
            raise FieldProblem(
                "signing_secret", f"signing_secret is not a channel key any more: {_signing_secret_hint(data['signing_secret'])}"
            )
        return data

    @model_validator(mode="after")
    def _email_recipients(self) -> ChannelConfig:
        if self.type == "email" and self.enabled:
            raw = self.options.get("to") or []
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            for item in items:
                if not _EMAIL.fullmatch(str(item).strip()):
                    raise FieldProblem("options", f"options.to: expected an email address, not {str(item)!r}")
        return self


def _default_types(value: Any) -> Any:
    """``alerting.channels.slack: {conn_id: ...}`` without ``type``: the built-in type of that name."""
    if not isinstance(value, dict):
        return value
    out = {}
    for name, channel in value.items():
        if isinstance(channel, dict) and "type" not in channel and name in DEFAULT_CHANNEL_TYPES:
            channel = {"type": DEFAULT_CHANNEL_TYPES[name], **channel}
        out[name] = channel
    return out


class ChannelsConfig(RootModel[dict[str, ChannelConfig]]):
    """Channels by name (what rule routes reference); a name left out is not configured."""

    model_config = ConfigDict(frozen=True)
    root: Annotated[dict[str, ChannelConfig], BeforeValidator(_default_types)] = Field(default_factory=dict)

    def enabled_names(self) -> list[str]:
        """Names of the channels that are configured and enabled, in declaration order."""
        return [name for name, channel in self.root.items() if channel.enabled]

    def get(self, name: str) -> ChannelConfig | None:
        return self.root.get(name)

    def items(self) -> list[tuple[str, ChannelConfig]]:
        return list(self.root.items())


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
    # Every route (rules, escalations, Airflow events) goes to this one channel instead: a laptop,
    # the demo, a staging stack where nothing may leave the machine. Null: routes as written.
    route_all_to: str | None = None
    grouping: GroupingConfig = Field(default_factory=GroupingConfig)
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    silences: list[SilenceConfig] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindowConfig] = Field(default_factory=list)
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    escalations: list[EscalationConfig] = Field(default_factory=list)
