"""Typed policy settings: silences, maintenance windows, inhibition, grouping, rate limits, escalation.

Plain frozen dataclasses with no I/O. ``rules_loader`` builds them from YAML; the seed's
``AlertingConfig`` maps onto them through :func:`PolicyConfig` defaults (``rate_limit_minutes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dataops_intelligence.alerting.matchers import Matcher, matches_all

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dataops_intelligence.alerting.model import Severity

DEFAULT_GROUP_BY = ("rule", "workspace_id")
# Documented platform limits: Slack ~1 message/s per channel, Teams 4 requests/s per webhook.
DEFAULT_CHANNEL_RATES: Mapping[str, float] = {"slack": 1.0, "teams": 4.0}


def default_rate(channel_type: str | None) -> float | None:
    """The platform's documented send rate for a channel type (``slack_webhook`` → slack)."""
    for prefix, rate in DEFAULT_CHANNEL_RATES.items():
        if (channel_type or "").startswith(prefix):
            return rate
    return None


@dataclass(frozen=True)
class Silence:
    """An ad hoc mute: matchers, a validity window, who created it and why."""

    silence_id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and matches_all(self.matchers, labels)


@dataclass(frozen=True)
class MaintenanceWindow:
    """A recurring weekly window (weekdays 0=Monday, local start/end times; may cross midnight)."""

    name: str
    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str = "UTC"
    matchers: tuple[Matcher, ...] = ()

    def is_active(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return local.weekday() in self.weekdays and self.start <= clock < self.end
        if clock >= self.start:  # the window crosses midnight: the evening part
            return local.weekday() in self.weekdays
        return (local.weekday() - 1) % 7 in self.weekdays and clock < self.end

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.is_active(now) and matches_all(self.matchers, labels)


@dataclass(frozen=True)
class InhibitRule:
    """While a source alert fires, mute target alerts that share the values of the ``equal`` labels."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalationRule:
    """When a matching alert keeps firing for ``after``, raise its severity and/or add channels."""

    after: timedelta
    matchers: tuple[Matcher, ...] = ()
    raise_to: Severity | None = None
    add_channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelPolicy:
    """Per-channel delivery policy: resolved notifications, send rate, cap per cycle."""

    send_resolved: bool = True
    rate_per_second: float | None = None
    max_per_cycle: int = 20


@dataclass(frozen=True)
class PolicyConfig:
    """Everything the pure policy needs; defaults follow Alertmanager except the 15 min repeat."""

    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(minutes=15)
    resolve_timeout: timedelta = timedelta(hours=1)
    silences: tuple[Silence, ...] = ()
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    escalations: tuple[EscalationRule, ...] = ()
    channels: Mapping[str, ChannelPolicy] = field(default_factory=dict)

    def channel(self, name: str, channel_type: str | None = None) -> ChannelPolicy:
        found = self.channels.get(name)
        if found is not None:
            return found
        return ChannelPolicy(rate_per_second=default_rate(channel_type or name))

    @classmethod
    def from_rate_limit(cls, rate_limit_minutes: float, **kwargs: object) -> PolicyConfig:
        """Seed compatibility: ``AlertingConfig.rate_limit_minutes`` is the repeat interval."""
        return cls(repeat_interval=timedelta(minutes=rate_limit_minutes), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ChannelSettings:
    """A configured channel instance: name (what routes reference), type, connection id, options.

    Only references to secrets live here (a connection id, an environment variable name). ``source``
    says where it was configured (``config/alerting_rules.yaml: channels.slack``) for error messages.
    """

    name: str
    type: str
    conn_id: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def where(self) -> str:
        """``<file>: channels.<name>`` (``channels.<name>`` when built in code)."""
        return self.source or f"channels.{self.name}"
