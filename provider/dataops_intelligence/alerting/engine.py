"""``AlertManager`` (the seed's name): rules → policy → outbox → channels → store, once per cycle.

State is read back at the start of every cycle, so dedup and rate limits survive restarts and work
from any worker. A notification is written to the outbox (pending) in the same transaction as the
alert state that produced it, *before* it is sent; it is marked sent or failed after, and the next
cycle retries whatever is still pending or failed. A crash or an outage delays an alert; it never
loses one. Delivery is at-least-once, with the dedup key in every payload.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from dataops_intelligence.alerting.channels.registry import ChannelRegistry, default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy, classify_exception
from dataops_intelligence.alerting.model import (
    AlertCandidate,
    AlertState,
    Delivery,
    DeliveryResult,
    DeliveryStatus,
    Notification,
    Row,
)
from dataops_intelligence.alerting.policy import AlertPolicy
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.redact import redact
from dataops_intelligence.alerting.rules import Rule, evaluate_rules

if TYPE_CHECKING:
    from dataops_intelligence.alerting.channels.base import AlertChannel
    from dataops_intelligence.alerting.rules_loader import AlertingSettings
    from dataops_intelligence.alerting.store import AlertStore

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class CycleReport:
    """What one cycle did (counts and ids only: no secrets, no payloads)."""

    started_at: datetime
    candidates: int = 0
    notifications: int = 0
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RedeliveryPolicy:
    """Across cycles: a failed delivery is retried by the next cycle that runs ``delay`` after it.

    Backoff inside a cycle is the channel's :class:`RetryPolicy`; between cycles the cycle interval
    itself spaces attempts, so a short fixed delay suffices. ``max_attempts`` bounds the total.
    ``claim_ttl`` is the lease a worker holds on a delivery while sending it (longer than the worst
    in-cycle retry sequence); a worker killed mid-send releases it by expiry.
    """

    delay: timedelta = timedelta(seconds=30)
    max_attempts: int = 50
    claim_ttl: timedelta = timedelta(minutes=2)

    def next_attempt(self, now: datetime, attempts: int, retryable: bool) -> datetime | None:
        if not retryable or attempts >= self.max_attempts:
            return None
        return now + self.delay


class AlertManager:
    """The alert engine: evaluate → decide → outbox → send → record."""

    def __init__(
        self,
        *,
        store: AlertStore,
        channels: Mapping[str, AlertChannel],
        policy: PolicyConfig | None = None,
        rules: Sequence[Rule] = (),
        clock: Clock = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        redelivery: RedeliveryPolicy | None = None,
    ) -> None:
        self.store = store
        self.channels = dict(channels)
        self.config = policy or PolicyConfig()
        self.policy = AlertPolicy(self.config, {n: c.settings.type for n, c in self.channels.items()})
        self.rules = tuple(rules)
        self.clock = clock
        self.sleep = sleep
        self.redelivery = redelivery or RedeliveryPolicy()
        self._last_send: dict[str, float] = {}
        self._secrets_ready = False

    @classmethod
    def from_settings(
        cls,
        settings: AlertingSettings,
        store: AlertStore,
        *,
        registry: ChannelRegistry | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> AlertManager:
        """Build channels from the registry (built-ins + entry points) and wire rules and policy."""
        channels = (registry or default_registry()).build(settings.channels, retry=retry, sleep=sleep)
        return cls(
            store=store,
            channels=channels,
            policy=settings.policy,
            rules=settings.rules,
            clock=clock,
            sleep=sleep,
        )

    def run_cycle(
        self,
        inputs: Mapping[str, Sequence[Row]] | None = None,
        candidates: Iterable[AlertCandidate] = (),
        *,
        evaluated_rules: Iterable[str] = (),
    ) -> CycleReport:
        """One cycle. With ``inputs`` the configured rules run and their cleared alerts resolve."""
        now = self.clock()
        self._register_secrets()
        found = [replace(c, message=redact(c.message)) for c in candidates]
        evaluated = set(evaluated_rules)
        if inputs is not None:
            found += [replace(c, message=redact(c.message)) for c in evaluate_rules(self.rules, inputs, now)]
            evaluated |= {r.name for r in self.rules}
        with self._cycle_lock():
            outbox = self.store.load_outbox()
            decision = self.policy.decide(found, self.store.load_open_alerts(), now, evaluated)
            new = [Delivery.for_notification(n) for n in decision.notifications]
            claimed, deferred = self._claim([*outbox, *new], now)
            self.store.commit(decision.states, claimed, [s.history_row() for s in decision.changed])
        report = CycleReport(started_at=now, candidates=len(found), notifications=len(new), deferred=deferred)
        self._dispatch(claimed, {s.fingerprint: s for s in decision.states}, report)
        log.info(
            "alert cycle: %d candidates, %d notifications, %d sent, %d failed, %d deferred",
            report.candidates,
            report.notifications,
            len(report.sent),
            len(report.failed),
            len(report.deferred),
        )
        return report

    def _cycle_lock(self) -> AbstractContextManager[None]:
        """The store's inter-process lock when it has one (``cycle_lock``), else a no-op."""
        lock = getattr(self.store, "cycle_lock", None)
        return lock() if callable(lock) else nullcontext()

    def _register_secrets(self) -> None:
        """Resolve every channel's connection once so its secrets are scrubbed from alert text."""
        if self._secrets_ready:
            return
        for name, channel in self.channels.items():
            try:
                channel.register_secrets()
            except Exception as err:  # a broken connection shows up (redacted) at send time
                log.debug("channel %s: secrets not resolved early: %s", name, redact(err))
        self._secrets_ready = True

    def flush_outbox(self) -> CycleReport:
        """Retry pending/failed deliveries without evaluating anything."""
        return self.run_cycle()

    # -- delivery ------------------------------------------------------------------------------
    def _claim(self, deliveries: list[Delivery], now: datetime) -> tuple[list[Delivery], list[str]]:
        """Lease the due deliveries to this worker (``claim_ttl``) so a concurrent cycle skips them.

        A worker that dies mid-send leaves the lease to expire; the next cycle then retries.
        """
        claimed: list[Delivery] = []
        deferred: list[str] = []
        for delivery in sorted(deliveries, key=lambda d: (d.created_at or now, d.delivery_id)):
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                deferred.append(delivery.delivery_id)
                continue
            delivery.next_attempt_at = now + self.redelivery.claim_ttl
            claimed.append(delivery)
        return claimed, deferred

    def _dispatch(
        self, deliveries: list[Delivery], states: Mapping[str, AlertState], report: CycleReport
    ) -> None:
        touched: dict[str, list[str]] = defaultdict(list)
        with self._batched_commits():
            for delivery in deliveries:
                self._deliver(delivery)
                (report.sent if delivery.status is DeliveryStatus.SENT else report.failed).append(
                    delivery.delivery_id
                )
                mark = f"{delivery.channel}:{delivery.status.value}:{delivery.delivery_id[:12]}"
                for fp in delivery.fingerprints:
                    touched[fp].append(mark)
                history = [states[fp].history_row(touched[fp]) for fp in delivery.fingerprints if fp in states]
                self.store.commit(deliveries=[delivery], history=history)

    def _batched_commits(self) -> AbstractContextManager[None]:
        """The store's ``batched_commits`` when it has one (one write per table after the sends).

        Stores where a write is expensive (Delta: one MERGE per table) fold the post-send updates;
        a crash before the flush only re-sends (the claim lease expires), it never loses a delivery.
        """
        batch = getattr(self.store, "batched_commits", None)
        return batch() if callable(batch) else nullcontext()

    def _deliver(self, delivery: Delivery) -> None:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            result = DeliveryResult(
                ok=False, attempts=1, error=f"unknown channel {delivery.channel!r}", retryable=False
            )
        else:
            self._pace(delivery.channel)
            result = self._send(channel, Notification.from_dict(delivery.notification))
        finished = self.clock()
        delivery.attempts += max(result.attempts, 1)
        delivery.last_error = redact(result.error) if result.error else None
        if result.ok:
            delivery.status, delivery.sent_at, delivery.next_attempt_at = DeliveryStatus.SENT, finished, None
            return
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = self.redelivery.next_attempt(finished, delivery.attempts, result.retryable)
        log.warning(
            "delivery %s to %s failed after %d attempt(s): %s",
            delivery.delivery_id[:12],
            delivery.channel,
            delivery.attempts,
            delivery.last_error,
        )

    @staticmethod
    def _send(channel: AlertChannel, notification: Notification) -> DeliveryResult:
        try:
            return channel.send(notification)
        except Exception as err:  # a third-party channel broke its contract: record, never raise
            error = classify_exception(err)
            return DeliveryResult(ok=False, attempts=1, error=redact(error), retryable=error.transient)

    def _pace(self, channel_name: str) -> None:
        """Per-channel send rate (Slack ~1/s per channel, Teams 4/s): sleep between sends if needed."""
        channel = self.channels[channel_name]
        rate = self.config.channel(channel_name, channel.settings.type).rate_per_second
        stamp = time.monotonic()
        last = self._last_send.get(channel_name)
        if rate and last is not None:
            wait = 1.0 / rate - (stamp - last)
            if wait > 0:
                self.sleep(wait)
        self._last_send[channel_name] = time.monotonic()
