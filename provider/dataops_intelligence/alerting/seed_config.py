"""Adapter from the seed's ``AlertingConfig`` (``include/dataops_jobs/config/alerting.py``) to the engine.

The deployment config names the channels (the rules file's channel schema: type, conn_id, options;
same-named channels replace the rules file's, ``enabled: false`` switches one off and drops the
routes to it, ``route_all_to`` sends every route to one channel), the
seed's ``rate_limit_minutes`` and, optionally, extra rules, silences, maintenance windows,
inhibition, escalation and grouping; ``config/alerting_rules.yaml`` holds the shipped rules and
fatigue policy. This module merges the two (see :func:`merge_seed_config`). Both use the same
schema (``dataops_jobs.config.alerting``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.policy_config import ChannelPolicy, ChannelSettings, default_rate
from dataops_intelligence.alerting.rules_loader import (
    check_channel_settings,
    convert_escalations,
    convert_inhibit_rules,
    convert_rules,
    convert_silences,
    convert_windows,
)

if TYPE_CHECKING:
    from dataops_intelligence.alerting.policy_config import PolicyConfig
    from dataops_intelligence.alerting.rules_loader import AlertingSettings


def channels_from_config(
    alerting: Any, source: str = "alerting", enable: str | None = None
) -> list[ChannelSettings]:
    """Enabled channels of the deployment config's ``alerting.channels`` (the rules file's schema);
    ``enable`` names one that counts as enabled anyway (the ``route_all_to`` target)."""
    return [
        ChannelSettings(name, c.type, c.conn_id, dict(c.options), source=f"{source}.channels.{name}")
        for name, c in alerting.channels.items()
        if c.enabled or name == enable
    ]


def _channel_policy(cfg: Any) -> ChannelPolicy:
    return ChannelPolicy(cfg.send_resolved, cfg.rate_per_second or default_rate(cfg.type), cfg.max_per_cycle)


def _keep_routes(settings: AlertingSettings, names: set[str]) -> AlertingSettings:
    """Drop routes to channels that are not configured here (disabled in the deployment config)."""
    rules = tuple(replace(r, routes=tuple(c for c in r.routes if c in names)) for r in settings.rules)
    escalations = tuple(
        replace(e, add_channels=tuple(c for c in e.add_channels if c in names))
        for e in settings.policy.escalations
    )
    return replace(settings, rules=rules, policy=replace(settings.policy, escalations=escalations))


def route_all(settings: AlertingSettings, target: str) -> AlertingSettings:
    """``alerting.route_all_to``: every routed rule goes to ``target`` only; no other channel is built."""
    channels = tuple(c for c in settings.channels if c.name == target)
    if not channels:
        known = ", ".join(c.name for c in settings.channels) or "none"
        raise AlertConfigError(
            f"alerting.route_all_to: no enabled channel named {target!r} (channels: {known})"
        )
    rules = tuple(replace(r, routes=(target,) if r.routes else ()) for r in settings.rules)
    escalations = tuple(replace(e, add_channels=()) for e in settings.policy.escalations)
    return replace(
        settings, rules=rules, channels=channels, policy=replace(settings.policy, escalations=escalations)
    )


def _grouping(policy: PolicyConfig, alerting: Any) -> PolicyConfig:
    grouping = getattr(alerting, "grouping", None)
    if grouping is None or not grouping.model_fields_set:
        return policy  # not written in the deployment config: the rules file's timing stands
    return replace(
        policy,
        group_by=tuple(grouping.group_by),
        group_wait=timedelta(seconds=grouping.group_wait_seconds),
        group_interval=timedelta(seconds=grouping.group_interval_seconds),
        resolve_timeout=timedelta(minutes=grouping.resolve_timeout_minutes),
    )


def _inline_policy(policy: PolicyConfig, alerting: Any) -> PolicyConfig:
    """Add the deployment config's silences, windows, inhibition and escalation to the file's."""
    windows = convert_windows(getattr(alerting, "maintenance_windows", ()))
    return replace(
        policy,
        silences=policy.silences + convert_silences(getattr(alerting, "silences", ())),
        maintenance_windows=policy.maintenance_windows + windows,
        inhibit_rules=policy.inhibit_rules + convert_inhibit_rules(getattr(alerting, "inhibit_rules", ())),
        escalations=policy.escalations + convert_escalations(getattr(alerting, "escalations", ())),
    )


def merge_seed_config(settings: AlertingSettings, alerting: Any) -> AlertingSettings | None:
    """Rules file + deployment config; ``None`` when alerting is switched off.

    Channels from the deployment config replace same-named ones; its rules, silences, windows,
    inhibition and escalations are added; ``rate_limit_minutes`` is the repeat interval.
    """
    if not alerting.enabled:
        return None
    target = getattr(alerting, "route_all_to", None) or None
    seed = {c.name: c for c in channels_from_config(alerting, enable=target)}
    disabled = {name for name, c in alerting.channels.items() if not c.enabled and name != target}
    channels = [seed.pop(c.name, c) for c in settings.channels if c.name not in disabled] + list(
        seed.values()
    )
    policies = dict(settings.policy.channels)
    policies.update({name: _channel_policy(c) for name, c in alerting.channels.items()})
    for channel in channels:
        policies.setdefault(channel.name, ChannelPolicy(rate_per_second=default_rate(channel.type)))
    policy = replace(
        settings.policy, repeat_interval=timedelta(minutes=alerting.rate_limit_minutes), channels=policies
    )
    policy = _inline_policy(_grouping(policy, alerting), alerting)
    rules = settings.rules + convert_rules(getattr(alerting, "rules", ()))
    merged = _keep_routes(
        replace(settings, channels=tuple(channels), policy=policy, rules=rules), {c.name for c in channels}
    )
    check_channel_settings(merged.channels)
    return route_all(merged, target) if target else merged
