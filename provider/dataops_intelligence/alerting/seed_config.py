"""Adapter from the seed's ``AlertingConfig`` (``include/dataops_jobs/config/alerting.py``) to the engine.

The deployment config names the channels (connection ids, recipients, secret references), the
seed's ``rate_limit_minutes`` and, optionally, extra rules, silences, maintenance windows,
inhibition, escalation and grouping; ``config/alerting_rules.yaml`` holds the shipped rules and
fatigue policy. This module merges the two (see :func:`merge_seed_config`). Both use the same
schema (``dataops_jobs.config.alerting``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dataops_intelligence.alerting.policy_config import ChannelPolicy, ChannelSettings, default_rate
from dataops_intelligence.alerting.rules_loader import (
    convert_escalations,
    convert_inhibit_rules,
    convert_rules,
    convert_silences,
    convert_windows,
)

if TYPE_CHECKING:
    from dataops_intelligence.alerting.policy_config import PolicyConfig
    from dataops_intelligence.alerting.rules_loader import AlertingSettings

_ORDER = ("slack", "email", "teams", "webhook")


def _slack(cfg: Any) -> ChannelSettings:
    if cfg.use_web_api:
        return ChannelSettings("slack", "slack_api", cfg.conn_id, {"channel": cfg.channel})
    return ChannelSettings("slack", "slack_webhook", cfg.conn_id, {})


def _email(cfg: Any) -> ChannelSettings:
    options: dict[str, Any] = {"to": list(cfg.recipients), "subject_prefix": cfg.subject_prefix}
    if cfg.from_email:
        options["from_email"] = cfg.from_email
    return ChannelSettings("email", "email", cfg.conn_id, options)


def _teams(cfg: Any) -> ChannelSettings:
    return ChannelSettings("teams", "teams", cfg.conn_id, {})


def _webhook(cfg: Any) -> ChannelSettings:
    options: dict[str, Any] = {}
    secret = getattr(cfg, "signing_secret", None)
    if secret is not None and secret.env_var:
        options["secret_env"] = secret.env_var
    elif secret is not None and secret.conn_id:
        options["secret_conn_id"] = secret.conn_id
    return ChannelSettings("webhook", "webhook", cfg.conn_id, options)


_BUILDERS = {"slack": _slack, "email": _email, "teams": _teams, "webhook": _webhook}


def channels_from_config(alerting: Any) -> list[ChannelSettings]:
    """Enabled channels of the seed's ``AlertingConfig.channels``."""
    out = []
    for name in _ORDER:
        cfg = getattr(alerting.channels, name, None)
        if cfg is not None and cfg.enabled:
            out.append(_BUILDERS[name](cfg))
    return out


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
    seed = {c.name: c for c in channels_from_config(alerting)}
    channels = [seed.pop(c.name, c) for c in settings.channels] + list(seed.values())
    policies = dict(settings.policy.channels)
    for channel in channels:
        policies.setdefault(channel.name, ChannelPolicy(rate_per_second=default_rate(channel.type)))
    policy = replace(
        settings.policy, repeat_interval=timedelta(minutes=alerting.rate_limit_minutes), channels=policies
    )
    policy = _inline_policy(_grouping(policy, alerting), alerting)
    rules = settings.rules + convert_rules(getattr(alerting, "rules", ()))
    return replace(settings, channels=tuple(channels), policy=policy, rules=rules)
