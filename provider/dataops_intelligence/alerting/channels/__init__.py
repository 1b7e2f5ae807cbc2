"""Alert channels: one :class:`AlertChannel` interface, a webhook base, a registry keyed by ``type``."""

from __future__ import annotations

from dataops_intelligence.alerting.channels.base import (
    AlertChannel,
    Transport,
    TransportResponse,
    WebhookChannel,
)
from dataops_intelligence.alerting.channels.registry import (
    ENTRY_POINT_GROUP,
    ChannelRegistry,
    default_registry,
)
from dataops_intelligence.alerting.channels.retry import RetryPolicy

__all__ = [
    "ENTRY_POINT_GROUP",
    "AlertChannel",
    "ChannelRegistry",
    "RetryPolicy",
    "Transport",
    "TransportResponse",
    "WebhookChannel",
    "default_registry",
]
