"""Channel registry keyed by ``type``: built-ins plus entry point group ``dataops_intelligence.channels``.

Registering a second class under a taken ``type`` raises :class:`ChannelRegistryError` (loudly: two
plugins fighting over ``pagerduty`` must not silently shadow each other).
"""

from __future__ import annotations

import logging
import time
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from dataops_intelligence.alerting.channels.base import AlertChannel
from dataops_intelligence.alerting.errors import ChannelRegistryError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from dataops_intelligence.alerting.channels.retry import RetryPolicy
    from dataops_intelligence.alerting.policy_config import ChannelSettings

ENTRY_POINT_GROUP = "dataops_intelligence.channels"
log = logging.getLogger(__name__)


class ChannelRegistry:
    """Maps a channel ``type`` to its :class:`AlertChannel` subclass."""

    def __init__(self) -> None:
        self._types: dict[str, type[AlertChannel]] = {}

    def register(self, channel_cls: type[AlertChannel], channel_type: str | None = None) -> None:
        key = channel_type or channel_cls.type
        if not key:
            raise ChannelRegistryError(f"{channel_cls.__qualname__} has no 'type'")
        existing = self._types.get(key)
        if existing is not None and existing is not channel_cls:
            raise ChannelRegistryError(
                f"channel type {key!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
                f"refusing {channel_cls.__module__}.{channel_cls.__qualname__}"
            )
        self._types[key] = channel_cls

    def get(self, channel_type: str) -> type[AlertChannel]:
        try:
            return self._types[channel_type]
        except KeyError:
            raise ChannelRegistryError(
                f"unknown channel type {channel_type!r}; known: {', '.join(sorted(self._types))}"
            ) from None

    @property
    def types(self) -> list[str]:
        return sorted(self._types)

    def load_entry_points(self) -> None:
        """Register third-party channels published under :data:`ENTRY_POINT_GROUP`."""
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            channel_cls = ep.load()
            if not (isinstance(channel_cls, type) and issubclass(channel_cls, AlertChannel)):
                raise ChannelRegistryError(
                    f"entry point {ep.name!r} ({ep.value}) is not an AlertChannel subclass"
                )
            self.register(channel_cls, ep.name)

    def build(
        self,
        settings: Iterable[ChannelSettings],
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> dict[str, AlertChannel]:
        """Instantiate configured channels by name."""
        return {s.name: self.get(s.type)(s, retry=retry, sleep=sleep) for s in settings}


def default_registry(load_plugins: bool = True) -> ChannelRegistry:
    """Built-in channels (slack_webhook, slack_api, email, teams, webhook, file) plus entry-point plugins."""
    from dataops_intelligence.alerting.channels.email import EmailChannel
    from dataops_intelligence.alerting.channels.file import FileChannel
    from dataops_intelligence.alerting.channels.slack import SlackApiChannel, SlackWebhookChannel
    from dataops_intelligence.alerting.channels.teams import TeamsChannel
    from dataops_intelligence.alerting.channels.webhook import GenericWebhookChannel

    registry = ChannelRegistry()
    for cls in (SlackWebhookChannel, SlackApiChannel, EmailChannel, TeamsChannel, GenericWebhookChannel, FileChannel):
        registry.register(cls)
    if load_plugins:
        registry.load_entry_points()
    return registry
