"""Load ``config/alerting_rules.yaml`` into rules, policy settings and channel settings.

The rule, silence, maintenance-window, inhibition, escalation and grouping models are the project
config's (``dataops_jobs.config.alerting``), so the rules file and the ``alerting`` section of the
deployment config share one schema. Unknown keys are rejected and every error names the file and
the key, for example ``config/alerting_rules.yaml: rules[2].params.threshold: Input should be ...``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping  # noqa: TC003 - used at runtime by pydantic/dataclasses
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.matchers import parse_matchers
from dataops_intelligence.alerting.model import Severity
from dataops_intelligence.alerting.policy_config import (
    ChannelPolicy,
    ChannelSettings,
    EscalationRule,
    InhibitRule,
    MaintenanceWindow,
    PolicyConfig,
    Silence,
    default_rate,
)
from dataops_intelligence.alerting.rules import Rule, RuleKind
from dataops_jobs.config.alerting import (
    AlertRuleConfig,
    ChannelConfig,
    EscalationConfig,
    InhibitRuleConfig,
    MaintenanceWindowConfig,
    SilenceConfig,
)

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


class _Strict(BaseModel):
    """Same conventions as the project config's ``StrictModel``: unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


#: The rules file's channels use the deployment config's schema (one schema for both places).
ChannelModel = ChannelConfig


class TimingModel(_Strict):
    """Grouping and timing (``GroupingConfig``'s fields) plus the repeat interval (``rate_limit_minutes``)."""

    group_by: list[str] = Field(default_factory=lambda: ["rule", "workspace_id"])
    group_wait_seconds: float = Field(default=30, ge=0)
    group_interval_seconds: float = Field(default=300, ge=0)
    resolve_timeout_minutes: float = Field(default=60, gt=0)
    repeat_interval_minutes: float = Field(default=15, ge=0)


class AlertingRulesFile(_Strict):
    """The whole ``alerting_rules.yaml`` document."""

    policy: TimingModel = Field(default_factory=TimingModel)
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    silences: list[SilenceConfig] = Field(default_factory=list)
    maintenance_windows: list[MaintenanceWindowConfig] = Field(default_factory=list)
    inhibit_rules: list[InhibitRuleConfig] = Field(default_factory=list)
    escalations: list[EscalationConfig] = Field(default_factory=list)


@dataclass(frozen=True)
class AlertingSettings:
    """Everything loaded from the rules file."""

    rules: tuple[Rule, ...]
    policy: PolicyConfig
    channels: tuple[ChannelSettings, ...]


def _substitute(text: str, source: str) -> str:
    def repl(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        value = os.environ.get(name, default)
        if value is None:
            raise AlertConfigError(f"{source}: environment variable {name} is not set and has no default")
        return value

    return _VAR.sub(repl, text)


def _fmt_error(source: str, err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        loc = tuple(item["loc"])
        field = getattr(item.get("ctx", {}).get("error"), "field", None)  # a FieldProblem blames one key
        loc = (*loc, field) if isinstance(field, str) else loc
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        lines.append(f"{source}: {key or '<root>'}: {item['msg']}")
    return "\n".join(lines)


def parse_settings(data: Mapping[str, Any], source: str = "<dict>") -> AlertingSettings:
    """Validate an already-parsed document; errors name ``source`` and the key."""
    try:
        doc = AlertingRulesFile.model_validate(dict(data))
    except ValidationError as err:
        raise AlertConfigError(_fmt_error(source, err)) from None
    _check_routes(doc, source)
    channels = tuple(
        ChannelSettings(n, c.type, c.conn_id, dict(c.options), source=f"{source}: channels.{n}")
        for n, c in doc.channels.items()
        if c.enabled
    )
    check_channel_settings(channels)
    return AlertingSettings(rules=convert_rules(doc.rules), policy=_policy(doc), channels=channels)


def check_channel_settings(channels: Iterable[ChannelSettings]) -> None:
    """Load-time checks: a known ``type`` and the options that type needs. One error lists them all."""
    from dataops_intelligence.alerting.channels.registry import default_registry
    from dataops_intelligence.alerting.errors import ChannelRegistryError

    registry = default_registry()
    problems = []
    for channel in channels:
        try:
            channel_cls = registry.get(channel.type)
        except ChannelRegistryError:
            problems.append(
                f"{channel.where}.type: unknown channel type {channel.type!r}; known: {', '.join(registry.types)}"
                " (third-party types register through the entry point group dataops_intelligence.channels)"
            )
            continue
        problems += [f"{channel.where}.{key}: {msg}" for key, msg in channel_cls.check_options(channel.options)]
    if problems:
        raise AlertConfigError("\n".join(problems))


def load_settings(path: str | os.PathLike[str]) -> AlertingSettings:
    """Read, substitute ``${VAR}`` / ``${VAR:default}``, parse and validate a rules file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise AlertConfigError(f"{source}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(_substitute(text, source)) or {}
    except yaml.YAMLError as err:
        raise AlertConfigError(f"{source}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise AlertConfigError(f"{source}: <root>: expected a mapping")
    return parse_settings(data, source)


def _check_routes(doc: AlertingRulesFile, source: str) -> None:
    known = set(doc.channels)  # a route to a disabled channel is fine (it is dropped when merged)
    if not known:
        return
    for i, rule in enumerate(doc.rules):
        for j, route in enumerate(rule.routes):
            if route not in known:
                raise AlertConfigError(f"{source}: rules[{i}].routes[{j}]: unknown channel {route!r}")
    for i, esc in enumerate(doc.escalations):
        for j, route in enumerate(esc.add_channels):
            if route not in known:
                raise AlertConfigError(
                    f"{source}: escalations[{i}].add_channels[{j}]: unknown channel {route!r}"
                )


# -- config models → engine value objects (shared with the deployment config adapter) ----------
def convert_rules(rules: Iterable[AlertRuleConfig]) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            name=r.name,
            kind=RuleKind(r.kind),
            severity=Severity(r.severity),
            job_name=r.job_name,
            tags=dict(r.tags),
            workspaces=tuple(r.workspaces),
            labels=dict(r.labels),
            routes=tuple(r.routes),
            params=dict(r.params),
        )
        for r in rules
        if r.enabled
    )


def convert_silences(items: Iterable[SilenceConfig]) -> tuple[Silence, ...]:
    return tuple(
        Silence(s.id, parse_matchers(s.matchers), s.starts_at, s.ends_at, s.created_by, s.comment)
        for s in items
    )


def _weekday(day: str | int) -> int:
    return day if isinstance(day, int) else _WEEKDAYS[day[:3].lower()]


def convert_windows(items: Iterable[MaintenanceWindowConfig]) -> tuple[MaintenanceWindow, ...]:
    return tuple(
        MaintenanceWindow(
            w.name,
            frozenset(_weekday(d) for d in w.weekdays),
            w.start,
            w.end,
            w.timezone,
            parse_matchers(w.matchers),
        )
        for w in items
    )


def convert_inhibit_rules(items: Iterable[InhibitRuleConfig]) -> tuple[InhibitRule, ...]:
    return tuple(
        InhibitRule(parse_matchers(i.source_matchers), parse_matchers(i.target_matchers), tuple(i.equal))
        for i in items
    )


def convert_escalations(items: Iterable[EscalationConfig]) -> tuple[EscalationRule, ...]:
    return tuple(
        EscalationRule(
            timedelta(minutes=e.after_minutes),
            parse_matchers(e.matchers),
            Severity(e.raise_to) if e.raise_to else None,
            tuple(e.add_channels),
        )
        for e in items
    )


def _policy(doc: AlertingRulesFile) -> PolicyConfig:
    t = doc.policy
    return PolicyConfig(
        group_by=tuple(t.group_by),
        group_wait=timedelta(seconds=t.group_wait_seconds),
        group_interval=timedelta(seconds=t.group_interval_seconds),
        repeat_interval=timedelta(minutes=t.repeat_interval_minutes),
        resolve_timeout=timedelta(minutes=t.resolve_timeout_minutes),
        silences=convert_silences(doc.silences),
        maintenance_windows=convert_windows(doc.maintenance_windows),
        inhibit_rules=convert_inhibit_rules(doc.inhibit_rules),
        escalations=convert_escalations(doc.escalations),
        channels={
            name: ChannelPolicy(c.send_resolved, c.rate_per_second or default_rate(c.type), c.max_per_cycle)
            for name, c in doc.channels.items()
        },
    )


__all__ = [
    "AlertingRulesFile",
    "AlertingSettings",
    "ChannelSettings",
    "convert_escalations",
    "convert_inhibit_rules",
    "convert_rules",
    "convert_silences",
    "convert_windows",
    "load_settings",
    "parse_settings",
]
