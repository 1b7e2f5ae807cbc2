"""DeltaAlertStore: the AlertStore protocol over Delta tables (MERGE by key, outbox first, sent is final)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from alerting_support import CANARY, FakeClock, channel_settings, conn_env, free_port

from dataops_intelligence.alerting.channels.registry import default_registry
from dataops_intelligence.alerting.channels.retry import RetryPolicy
from dataops_intelligence.alerting.delta_store import DeltaAlertStore
from dataops_intelligence.alerting.engine import AlertManager
from dataops_intelligence.alerting.model import AlertCandidate, AlertStatus, DeliveryStatus, Severity
from dataops_intelligence.alerting.policy_config import PolicyConfig
from dataops_intelligence.alerting.redact import register_secret
from dataops_jobs.config import load_config_from_dict
from dataops_jobs.io import TableLocator, read_output

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark


def make_store(spark: SparkSession, tmp_path: Path) -> DeltaAlertStore:
    config = load_config_from_dict({"local": {"warehouse_path": str(tmp_path / "wh")}})
    return DeltaAlertStore(spark, TableLocator(config))


def failing(name: str, message: str = "failed") -> AlertCandidate:
    labels = {"job_name": name, "job_id": name, "workspace_id": "ws1"}
    return AlertCandidate(
        "job_failed", labels, Severity.ERROR, f"{name} {message}", "job_failure", name, ("hook",)
    )


def engine(store: DeltaAlertStore, clock: FakeClock, port: int) -> AlertManager:
    channels = default_registry(load_plugins=False).build(
        [channel_settings("hook", "webhook", "delta_hook", endpoint="/alerts")],
        retry=RetryPolicy(max_attempts=1, base_delay=0.1),
        sleep=clock.sleep,
    )
    return AlertManager(
        store=store,
        channels=channels,
        policy=PolicyConfig(group_wait=timedelta(0)),
        clock=clock,
        sleep=clock.sleep,
    )


def table_text(spark: SparkSession, store: DeltaAlertStore) -> str:
    """Every alert table as JSON text, for secret scans."""
    out = []
    for name in ("alert_state", "alert_outbox", "alert_history"):
        df = read_output(spark, store.locator, name)
        rows = [] if df is None else [r.asDict(recursive=True) for r in df.collect()]
        out.append(json.dumps(rows, default=str))
    return "\n".join(out)


def test_round_trip_outbox_first_and_sent_is_final(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    port = free_port()  # nobody listens: the delivery fails and stays in the outbox
    conn_env(
        monkeypatch,
        "delta_hook",
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": CANARY},
    )
    store = make_store(spark, tmp_path)
    report = engine(store, clock, port).run_cycle(
        candidates=[failing("etl", f"token={CANARY}")], evaluated_rules=["job_failed"]
    )
    assert len(report.failed) == 1

    (state,) = make_store(spark, tmp_path).load_open_alerts()  # a fresh store reads Delta back
    assert state.status is AlertStatus.FIRING
    assert state.last_sent == clock.now
    assert state.first_seen == clock.now
    (pending,) = store.load_outbox()
    assert pending.status is DeliveryStatus.FAILED
    assert pending.attempts == 1
    assert pending.next_attempt_at == clock.now + timedelta(seconds=30)
    assert pending.notification["alerts"][0]["fingerprint"] == state.fingerprint
    (history,) = store.load_history()
    assert history["alert_id"] == state.alert_id
    assert history["channels_sent"] == "hook"
    assert history["deliveries"].startswith("hook:failed:")
    assert CANARY not in table_text(spark, store)

    # A sent delivery is final: a stale "failed" update (expired claim) cannot undo it.
    pending.status, pending.sent_at, pending.next_attempt_at = DeliveryStatus.SENT, clock.now, None
    store.commit(deliveries=[pending])
    stale = store.load_deliveries()[0]
    stale.status, stale.next_attempt_at = DeliveryStatus.FAILED, clock.now
    store.commit(deliveries=[stale])
    (final,) = store.load_deliveries()
    assert final.status is DeliveryStatus.SENT
    assert store.load_outbox() == []


def test_batched_commits_fold_into_one_merge_per_table_and_secrets_are_scrubbed(
    spark: SparkSession, tmp_path: Path
) -> None:
    from delta.tables import DeltaTable

    from dataops_intelligence.alerting.model import Delivery
    from dataops_intelligence.alerting.policy import AlertPolicy

    secret = "delta-store-canary-9d1e"
    register_secret(secret)
    clock = FakeClock()
    store = make_store(spark, tmp_path)
    # Straight to the store, bypassing the engine (which redacts): the store's own guard must hold.
    decision = AlertPolicy(PolicyConfig(group_wait=timedelta(0), group_by=("job_name",))).decide(
        [failing("a", f"password {secret}"), failing("b")], [], clock.now, ["job_failed"]
    )
    deliveries = [Delivery.for_notification(n) for n in decision.notifications]
    store.commit(decision.states, deliveries, [s.history_row() for s in decision.changed])
    text = table_text(spark, store)
    assert secret not in text
    assert "password ***" in text

    path = store.locator.output("alert_outbox").path
    versions = DeltaTable.forPath(spark, path).history().count()
    with store.batched_commits():
        for i, delivery in enumerate(deliveries):
            delivery.status, delivery.attempts = DeliveryStatus.SENT, 1
            delivery.sent_at, delivery.next_attempt_at = clock.now, None
            state = next(s for s in decision.states if s.fingerprint in delivery.fingerprints)
            store.commit(deliveries=[delivery], history=[state.history_row([f"hook:sent:{i}"])])
        assert DeltaTable.forPath(spark, path).history().count() == versions  # nothing written yet
    assert DeltaTable.forPath(spark, path).history().count() == versions + 1
    assert store.load_outbox() == []
    assert sorted(h["deliveries"] for h in store.load_history()) == ["hook:sent:0", "hook:sent:1"]
