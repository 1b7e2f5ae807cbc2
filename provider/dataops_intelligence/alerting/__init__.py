"""DataOps Intelligence alert engine: rules, a pure fatigue policy, channels, an outbox and a store.

Public names are loaded lazily (PEP 562) so that importing the package stays cheap; channels and
hooks import the Airflow providers only when a notification is actually sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AlertManager": "dataops_intelligence.alerting.engine",
    "CycleReport": "dataops_intelligence.alerting.engine",
    "RedeliveryPolicy": "dataops_intelligence.alerting.engine",
    "AlertPolicy": "dataops_intelligence.alerting.policy",
    "PolicyDecision": "dataops_intelligence.alerting.policy",
    "PolicyConfig": "dataops_intelligence.alerting.policy_config",
    "ChannelPolicy": "dataops_intelligence.alerting.policy_config",
    "ChannelSettings": "dataops_intelligence.alerting.policy_config",
    "Silence": "dataops_intelligence.alerting.policy_config",
    "MaintenanceWindow": "dataops_intelligence.alerting.policy_config",
    "InhibitRule": "dataops_intelligence.alerting.policy_config",
    "EscalationRule": "dataops_intelligence.alerting.policy_config",
    "Matcher": "dataops_intelligence.alerting.matchers",
    "AlertCandidate": "dataops_intelligence.alerting.model",
    "AlertState": "dataops_intelligence.alerting.model",
    "AlertStatus": "dataops_intelligence.alerting.model",
    "Delivery": "dataops_intelligence.alerting.model",
    "DeliveryResult": "dataops_intelligence.alerting.model",
    "DeliveryStatus": "dataops_intelligence.alerting.model",
    "Notification": "dataops_intelligence.alerting.model",
    "Severity": "dataops_intelligence.alerting.model",
    "fingerprint": "dataops_intelligence.alerting.model",
    "Rule": "dataops_intelligence.alerting.rules",
    "RuleKind": "dataops_intelligence.alerting.rules",
    "evaluate_rules": "dataops_intelligence.alerting.rules",
    "AlertingSettings": "dataops_intelligence.alerting.rules_loader",
    "load_settings": "dataops_intelligence.alerting.rules_loader",
    "parse_settings": "dataops_intelligence.alerting.rules_loader",
    "AlertStore": "dataops_intelligence.alerting.store",
    "InMemoryAlertStore": "dataops_intelligence.alerting.store",
    "SqliteAlertStore": "dataops_intelligence.alerting.store",
    "AlertChannel": "dataops_intelligence.alerting.channels.base",
    "WebhookChannel": "dataops_intelligence.alerting.channels.base",
    "ChannelRegistry": "dataops_intelligence.alerting.channels.registry",
    "default_registry": "dataops_intelligence.alerting.channels.registry",
    "RetryPolicy": "dataops_intelligence.alerting.channels.retry",
    "AlertingError": "dataops_intelligence.alerting.errors",
    "AlertConfigError": "dataops_intelligence.alerting.errors",
    "ChannelRegistryError": "dataops_intelligence.alerting.errors",
    "DeliveryError": "dataops_intelligence.alerting.errors",
}

__all__ = [
    "AlertCandidate",
    "AlertChannel",
    "AlertConfigError",
    "AlertManager",
    "AlertPolicy",
    "AlertState",
    "AlertStatus",
    "AlertStore",
    "AlertingError",
    "AlertingSettings",
    "ChannelPolicy",
    "ChannelRegistry",
    "ChannelRegistryError",
    "ChannelSettings",
    "CycleReport",
    "Delivery",
    "DeliveryError",
    "DeliveryResult",
    "DeliveryStatus",
    "EscalationRule",
    "InMemoryAlertStore",
    "InhibitRule",
    "MaintenanceWindow",
    "Matcher",
    "Notification",
    "PolicyConfig",
    "PolicyDecision",
    "RedeliveryPolicy",
    "RetryPolicy",
    "Rule",
    "RuleKind",
    "Severity",
    "Silence",
    "SqliteAlertStore",
    "WebhookChannel",
    "default_registry",
    "evaluate_rules",
    "fingerprint",
    "load_settings",
    "parse_settings",
]

if TYPE_CHECKING:
    from dataops_intelligence.alerting.channels.base import AlertChannel, WebhookChannel
    from dataops_intelligence.alerting.channels.registry import ChannelRegistry, default_registry
    from dataops_intelligence.alerting.channels.retry import RetryPolicy
    from dataops_intelligence.alerting.engine import AlertManager, CycleReport, RedeliveryPolicy
    from dataops_intelligence.alerting.errors import (
        AlertConfigError,
        AlertingError,
        ChannelRegistryError,
        DeliveryError,
    )
    from dataops_intelligence.alerting.matchers import Matcher
    from dataops_intelligence.alerting.model import (
        AlertCandidate,
        AlertState,
        AlertStatus,
        Delivery,
        DeliveryResult,
        DeliveryStatus,
        Notification,
        Severity,
        fingerprint,
    )
    from dataops_intelligence.alerting.policy import AlertPolicy, PolicyDecision
    from dataops_intelligence.alerting.policy_config import (
        ChannelPolicy,
        ChannelSettings,
        EscalationRule,
        InhibitRule,
        MaintenanceWindow,
        PolicyConfig,
        Silence,
    )
    from dataops_intelligence.alerting.rules import Rule, RuleKind, evaluate_rules
    from dataops_intelligence.alerting.rules_loader import AlertingSettings, load_settings, parse_settings
    from dataops_intelligence.alerting.store import AlertStore, InMemoryAlertStore, SqliteAlertStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
