"""Channel registry: built-ins by type, loud collisions, third-party channels by entry point."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from dataops_intelligence.alerting.channels import registry as registry_module
from dataops_intelligence.alerting.channels.base import AlertChannel
from dataops_intelligence.alerting.channels.registry import (
    ENTRY_POINT_GROUP,
    ChannelRegistry,
    default_registry,
)
from dataops_intelligence.alerting.errors import ChannelRegistryError
from dataops_intelligence.alerting.model import DeliveryResult, Notification


class PagerChannel(AlertChannel):
    """A third-party channel as a plugin would ship it."""

    type = "pager"

    def send(self, notification: Notification) -> DeliveryResult:
        return DeliveryResult(ok=True, attempts=1)


class OtherPager(PagerChannel):
    """A second class claiming the same type."""


def test_builtin_types() -> None:
    assert default_registry(load_plugins=False).types == [
        "email",
        "file",
        "slack_api",
        "slack_webhook",
        "teams",
        "webhook",
    ]


def test_collision_fails_loudly() -> None:
    registry = ChannelRegistry()
    registry.register(PagerChannel)
    registry.register(PagerChannel)  # idempotent for the same class
    with pytest.raises(ChannelRegistryError, match="'pager' is already registered"):
        registry.register(OtherPager)


def test_unknown_type_lists_known() -> None:
    with pytest.raises(ChannelRegistryError, match="unknown channel type 'sms'; known: email"):
        default_registry(load_plugins=False).get("sms")


def _entry_points(*eps: EntryPoint) -> Any:
    def fake(group: str) -> list[EntryPoint]:
        assert group == ENTRY_POINT_GROUP
        return list(eps)

    return fake


def test_entry_point_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("pager", f"{__name__}:PagerChannel", ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "entry_points", _entry_points(ep))
    assert "pager" in default_registry().types


def test_entry_point_colliding_with_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("slack_webhook", f"{__name__}:PagerChannel", ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "entry_points", _entry_points(ep))
    with pytest.raises(ChannelRegistryError, match="slack_webhook"):
        default_registry()
