"""``AlertManager`` (the seed's name): rules → policy → outbox → channels → store, once per cycle.

State is read back at the start of every cycle, so dedup and rate limits survive restarts and work
from any worker. A notification is written to the outbox (pending) in the same transaction as the
alert state that produced it, *before* it is sent; it is marked sent or failed after, and the next
cycle retries whatever is still pending or failed. A crash or an outage delays an alert; it never
loses one. Delivery is at-least-once, with the dedup key in every payload.

Never a page twice: an undelivered notification whose alerts are all carried by a newer one on the
same channel (the repeat or the resolved message queued while a receiver was down) is marked
``superseded`` instead of being sent after the newer one. An alert counts as notified when its
message is *delivered*: a successful send moves its ``last_sent`` to the delivery time, so the
repeat interval runs from when people actually saw it.

Never a missed page: a delivery blocked by configuration (missing connection or secret, bad URL,
TLS mismatch) stays pending and is re-tried every cycle, with the configuration read again, until it
goes out or is older than ``RedeliveryPolicy.config_max_age``; :func:`blocked_deliveries` lists them
for the health check.
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
    CONFIG_ERROR_PREFIX,
    AlertCandidate,
    AlertState,
    AlertStatus,
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
    in-cycle retry sequence); a worker killed mid-send releases it by expiry. A delivery blocked by
    configuration is not bounded by attempts but by age: ``config_max_age`` after it was queued it
    is given up (``failed``, with the reason).
    """

    delay: timedelta = timedelta(seconds=30)
    max_attempts: int = 50
    claim_ttl: timedelta = timedelta(minutes=2)
    config_max_age: timedelta = timedelta(hours=24)

    def next_attempt(self, now: datetime, attempts: int, retryable: bool) -> datetime | None:
        if not retryable or attempts >= self.max_attempts:
            return None
        return now + self.delay


class AlertManager:
    """The alert engine: evaluate → decide → outbox → send → record."""

    #: Set when the deployment config's ``alerting.route_all_to`` sends every route to one channel.
    route_all_to: str | None = None

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
        for problem in channel_problems(channels):
            log.error("alert channel misconfigured (its deliveries stay pending until fixed): %s", problem)
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
        send_budget: float | None = None,
    ) -> CycleReport:
        """One cycle. With ``inputs`` the configured rules run and their cleared alerts resolve.

        ``send_budget`` (seconds of wall time) bounds the send phase: deliveries not started within
        it are handed back to the outbox (due at once) for the next flush; an Airflow callback uses it
        so that a receiver outage never holds a worker for long.
        """
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
            live, superseded = supersede([*outbox, *new])
            claimed, deferred = self._claim(live, now)
            self.store.commit(
                decision.states, [*superseded, *claimed], [s.history_row() for s in decision.changed]
            )
        report = CycleReport(started_at=now, candidates=len(found), notifications=len(new), deferred=deferred)
        states = {s.fingerprint: s for s in decision.states}
        self._dispatch(claimed, states, report, send_budget)
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
        self,
        deliveries: list[Delivery],
        states: Mapping[str, AlertState],
        report: CycleReport,
        send_budget: float | None = None,
    ) -> None:
        touched: dict[str, list[str]] = defaultdict(list)
        deadline = None if send_budget is None else time.monotonic() + send_budget
        with self._batched_commits():
            for i, delivery in enumerate(deliveries):
                if deadline is not None and time.monotonic() >= deadline:
                    self._hand_back(deliveries[i:], report)
                    return
                self._deliver(delivery)
                (report.sent if delivery.status is DeliveryStatus.SENT else report.failed).append(
                    delivery.delivery_id
                )
                mark = f"{delivery.channel}:{delivery.status.value}:{delivery.delivery_id[:12]}"
                for fp in delivery.fingerprints:
                    touched[fp].append(mark)
                history = [states[fp].history_row(touched[fp]) for fp in delivery.fingerprints if fp in states]
                self.store.commit(
                    self._count_delivered(delivery, states), deliveries=[delivery], history=history
                )

    def _hand_back(self, deliveries: list[Delivery], report: CycleReport) -> None:
        """Release the claim on deliveries the send budget left no time for: due at the next flush."""
        now = self.clock()
        for delivery in deliveries:
            delivery.next_attempt_at = now
            report.deferred.append(delivery.delivery_id)
        self.store.commit(deliveries=deliveries)

    @staticmethod
    def _count_delivered(delivery: Delivery, states: Mapping[str, AlertState]) -> list[AlertState]:
        """A delivered firing message counts from its delivery time (``last_sent``), not from when it
        was queued: after an outage the repeat interval starts when people actually saw the alert."""
        if delivery.status is not DeliveryStatus.SENT or delivery.sent_at is None:
            return []
        if delivery.notification.get("kind") == "resolved":
            return []
        bumped = []
        for fp in delivery.fingerprints:
            state = states.get(fp)
            if state is None or state.status is not AlertStatus.FIRING or state.last_sent is None:
                continue
            if state.last_sent < delivery.sent_at:
                state.last_sent = delivery.sent_at
                bumped.append(state)
        return bumped

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
                ok=False,
                attempts=1,
                error=f"channel {delivery.channel!r} is not configured",
                retryable=False,
                config_error=True,
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
        if result.config_error:
            self._blocked(delivery, finished)
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

    def _blocked(self, delivery: Delivery, finished: datetime) -> None:
        """A configuration fault: pending, re-tried next cycle, given up only when too old."""
        age = finished - (delivery.created_at or finished)
        if age >= self.redelivery.config_max_age:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            delivery.last_error = (
                f"given up after {age.total_seconds() / 3600:.1f} h blocked by configuration: {delivery.last_error}"
            )
            log.error("delivery %s to %s: %s", delivery.delivery_id[:12], delivery.channel, delivery.last_error)
            return
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = finished + self.redelivery.delay
        delivery.last_error = f"{CONFIG_ERROR_PREFIX}{delivery.last_error}"
        log.error(
            "delivery %s to %s is blocked by configuration (kept pending, re-tried every cycle): %s",
            delivery.delivery_id[:12],
            delivery.channel,
            delivery.last_error,
        )

    @staticmethod
    def _send(channel: AlertChannel, notification: Notification) -> DeliveryResult:
        try:
            return channel.send(notification)
        except Exception as err:  # a third-party channel broke its contract: record, never raise
            error = classify_exception(err)
            return DeliveryResult(
                ok=False, attempts=1, error=redact(error), retryable=error.transient, config_error=error.config
            )

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


def supersede(deliveries: Sequence[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """Split unsent deliveries into those to send and those a newer one on the same channel carries.

    An older delivery is superseded when a newer one (later ``created_at``) on its channel contains
    every one of its fingerprints: the newer message says the same and more recently, so sending
    both would page twice (for example the original and its repeat after a receiver outage).
    """
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_channel[delivery.channel].append(delivery)
    live: list[Delivery] = []
    superseded: list[Delivery] = []
    for items in by_channel.values():
        items.sort(key=lambda d: (d.created_at or _EPOCH, d.delivery_id))
        for i, delivery in enumerate(items):
            newer = _carrier(delivery, items[i + 1 :])
            if newer is None:
                live.append(delivery)
                continue
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUPERSEDED, None
            delivery.last_error = f"superseded by {newer.delivery_id[:12]} (a newer message with the same alerts)"
            superseded.append(delivery)
    return live, superseded


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _carrier(delivery: Delivery, later: Sequence[Delivery]) -> Delivery | None:
    mine = set(delivery.fingerprints)
    if not mine:
        return None
    start = delivery.created_at or _EPOCH
    for other in reversed(later):
        if (other.created_at or _EPOCH) > start and mine <= set(other.fingerprints):
            return other
    return None


def channel_problems(channels: Mapping[str, AlertChannel]) -> list[str]:
    """Every configuration problem of the channels found without sending (connections, variables,
    URLs); a channel whose check itself breaks reports that instead of raising."""
    problems: list[str] = []
    for name, channel in channels.items():
        try:
            problems += channel.check_config()
        except Exception as err:
            problems.append(f"channel {name!r}: configuration check failed: {redact(err)}")
    return [redact(p) for p in problems]


def blocked_deliveries(store: AlertStore) -> list[Delivery]:
    """Outbox deliveries held back by a configuration fault (for the health check)."""
    return [
        d
        for d in store.load_outbox()
        if d.status is DeliveryStatus.PENDING and (d.last_error or "").startswith(CONFIG_ERROR_PREFIX)
    ]
