"""Alerting tables: ``alert_history`` (what users query), ``alert_state``, ``alert_outbox`` and ``alert_cycles``.

Importing this module registers the four tables with :func:`dataops_jobs.schemas.output.register`, so
``dataops_jobs.io`` knows their columns and natural keys. The alert engine (provider side) owns the
rows; these tables are where a Delta-backed store keeps them between cycles:

- ``alert_state``: one row per fingerprint, read back at the start of every cycle (dedup and rate
  limits survive restarts and work from any worker);
- ``alert_outbox``: one row per delivery, written ``pending`` before the send and ``sent``/``failed``
  after (at-least-once delivery, idempotent by ``delivery_id``);
- ``alert_history``: one row per alert episode; the seed's columns first;
- ``alert_cycles``: appended once per evaluated interval (audit, and the replay guard);
- ``alert_silences``: silences created and expired from the dashboard, read by every alert cycle.

No secret is ever written here: alert text is redacted by the engine before it reaches a row.
"""

from __future__ import annotations

from dataops_jobs.schemas.output import Column, OutputTable, register


def _cols(*spec: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


ALERT_HISTORY = OutputTable(
    name="alert_history",
    comment="One row per alert episode: the seed's columns plus fingerprint, status, group and deliveries",
    keys=("alert_id",),
    time_column="created_at",
    columns=_cols(
        ("alert_id", "STRING", "Episode id: fingerprint prefix and the epoch second the episode started"),
        ("job_id", "STRING", "Job the alert is about (NULL for workspace-wide alerts)"),
        ("alert_type", "STRING", "job_failure, health_score, anomaly, sla_duration, cost_spike..."),
        ("severity", "STRING", "info, warning, error or critical (after escalation)"),
        ("message", "STRING", "Alert text (secrets redacted)"),
        ("created_at", "TIMESTAMP", "When the episode started firing (UTC)"),
        ("resolved_at", "TIMESTAMP", "When the condition cleared (UTC); NULL while open"),
        ("channels_sent", "ARRAY<STRING>", "Channels the alert was notified on"),
        ("fingerprint", "STRING", "Dedup key: sha256 of the rule and the label set"),
        ("status", "STRING", "firing, resolved, silenced or inhibited"),
        ("group_key", "STRING", "Notification group (group_by label values)"),
        ("deliveries", "ARRAY<STRING>", "channel:status:delivery-id-prefix of every delivery, accumulated"),
        ("rule", "STRING", "Rule that raised the alert"),
        ("escalation_level", "INT", "Escalation rules applied so far"),
        ("updated_at", "TIMESTAMP", "Last time the alert was seen (UTC)"),
    ),
)

ALERT_STATE = OutputTable(
    name="alert_state",
    comment="Alert engine state, one row per fingerprint, read back at the start of every alert cycle",
    keys=("fingerprint",),
    time_column="last_seen",
    columns=_cols(
        ("fingerprint", "STRING", "Dedup key: sha256 of the rule and the label set"),
        ("alert_id", "STRING", "Current episode id"),
        ("rule", "STRING", "Rule that raised the alert"),
        ("alert_type", "STRING", "Rule kind or event type"),
        ("status", "STRING", "firing, resolved, silenced or inhibited"),
        ("severity", "STRING", "Current severity"),
        ("job_id", "STRING", "Job the alert is about"),
        ("group_key", "STRING", "Notification group"),
        ("labels", "MAP<STRING,STRING>", "Alert labels"),
        ("first_seen", "TIMESTAMP", "Start of the current episode (UTC)"),
        ("last_seen", "TIMESTAMP", "Last cycle that saw the condition (UTC)"),
        ("last_sent", "TIMESTAMP", "Last firing notification (UTC)"),
        ("resolved_at", "TIMESTAMP", "When the condition cleared (UTC)"),
        (
            "tracked",
            "BOOLEAN",
            "Open, or resolved with a resolved notification still owed: loaded every cycle",
        ),
        ("state_json", "STRING", "The engine's full AlertState row as JSON (the source of truth)"),
    ),
)

ALERT_OUTBOX = OutputTable(
    name="alert_outbox",
    comment="Notification outbox: written pending before sending, marked sent or failed after",
    keys=("delivery_id",),
    time_column="created_at",
    columns=_cols(
        ("delivery_id", "STRING", "The notification's dedup key (idempotency key for receivers)"),
        ("channel", "STRING", "Channel name the notification goes to"),
        ("status", "STRING", "pending, sent or failed; sent is final"),
        ("attempts", "INT", "Send attempts so far, across cycles"),
        ("last_error", "STRING", "Last delivery error (redacted)"),
        (
            "next_attempt_at",
            "TIMESTAMP",
            "Earliest next attempt, or the claim lease; NULL when done or given up",
        ),
        ("created_at", "TIMESTAMP", "When the notification was decided (UTC)"),
        ("sent_at", "TIMESTAMP", "When the channel accepted it (UTC)"),
        ("is_open", "BOOLEAN", "Not sent and still has a next attempt: loaded every cycle"),
        ("fingerprints", "ARRAY<STRING>", "Alerts carried by the notification"),
        ("notification", "STRING", "The notification as JSON (what is rendered and sent; no secrets)"),
    ),
)

ALERT_CYCLES = OutputTable(
    name="alert_cycles",
    comment="Append-only log of alert cycles: interval, counts, and the high-water mark that stops replays",
    keys=("interval_end", "evaluated_at"),
    time_column="interval_end",
    columns=_cols(
        ("interval_end", "TIMESTAMP", "End of the data interval evaluated (UTC)"),
        ("interval_start", "TIMESTAMP", "Start of the data interval evaluated (UTC)"),
        ("evaluated_at", "TIMESTAMP", "Wall-clock time of the cycle (UTC)"),
        ("candidates", "INT", "Alert candidates the rules produced"),
        ("notifications", "INT", "Notifications put in the outbox"),
        ("sent", "INT", "Deliveries sent by the cycle"),
        ("failed", "INT", "Deliveries that failed (kept in the outbox when retryable)"),
        ("deferred", "INT", "Deliveries not yet due"),
    ),
)

ALERT_SILENCES = OutputTable(
    name="alert_silences",
    comment="Silences created from the dashboard (or any client): read by every alert cycle",
    keys=("silence_id",),
    time_column="ends_at",
    columns=_cols(
        ("silence_id", "STRING", "Random id (hex)"),
        ("matchers", "ARRAY<STRING>", "Label matchers, Alertmanager syntax (name=value, !=, =~, !~), all must match"),
        ("starts_at", "TIMESTAMP", "Start of the silence (UTC)"),
        ("ends_at", "TIMESTAMP", "End of the silence (UTC); set to the expiry time when expired early"),
        ("created_by", "STRING", "User who created it (from the Airflow auth manager)"),
        ("comment", "STRING", "Why"),
        ("created_at", "TIMESTAMP", "When it was created (UTC)"),
        ("expired_by", "STRING", "User who expired it early; NULL otherwise"),
        ("expired_at", "TIMESTAMP", "When it was expired early (UTC); NULL otherwise"),
    ),
)

ALERT_TABLES = (ALERT_HISTORY, ALERT_STATE, ALERT_OUTBOX, ALERT_CYCLES)
for _table in (*ALERT_TABLES, ALERT_SILENCES):
    register(_table)

__all__ = ["ALERT_CYCLES", "ALERT_HISTORY", "ALERT_OUTBOX", "ALERT_SILENCES", "ALERT_STATE", "ALERT_TABLES"]
