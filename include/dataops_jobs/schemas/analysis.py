"""Output tables of the analyses: ``job_health_scores`` and ``job_anomalies``.

Importing this module registers both tables with :func:`dataops_jobs.schemas.output.register`, so
``merge_into`` knows their columns and natural keys. The seed's columns come first.
"""

from __future__ import annotations

from dataops_jobs.schemas.output import Column, OutputTable, register

COMPONENTS = (
    "success_rate",
    "current_failures",
    "sla_adherence",
    "retry_rate",
    "performance_stability",
    "duration_drift",
    "cost_drift",
)
"""Health score components, in the order of ``HealthWeights``."""


def _cols(*spec: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


_POINTS_LOST = tuple(
    Column(f"points_lost_{name}", "DOUBLE", f"Score points lost on {name.replace('_', ' ')} (after shrinkage)")
    for name in COMPONENTS
)

JOB_HEALTH_SCORES = OutputTable(
    name="job_health_scores",
    comment="Health score 0-100 per job per calculation, with its components and why points were lost",
    keys=("workspace_id", "job_id", "calculation_time"),
    time_column="calculation_time",
    columns=(
        *_cols(
            ("job_id", "STRING", "Databricks job id"),
            ("calculation_time", "TIMESTAMP", "End (UTC midnight) of the day the score is for"),
            ("health_score", "DOUBLE", "0-100; shrunk toward the neutral prior when confidence is low"),
            ("success_rate", "DOUBLE", "Share of terminal runs in the window that did not fail"),
            ("performance_stability", "DOUBLE", "1 - excess robust coefficient of variation of durations"),
            ("trend", "STRING", "improving, stable or degrading (significance test, window vs baseline)"),
            ("job_name", "STRING", "Job name"),
            ("workspace_id", "STRING", "Workspace id"),
            ("sla_adherence", "DOUBLE", "Share of runs meeting the job's SLA; NULL when it has none"),
            ("retry_rate", "DOUBLE", "Share of runs repaired or retried"),
            ("duration_drift", "DOUBLE", "Window median duration / baseline median - 1; NULL without baseline"),
            ("cost_drift", "DOUBLE", "Window median DBUs per run / baseline median - 1; NULL without cost"),
            ("runs_in_window", "INT", "Terminal runs in the window (the sample size)"),
            ("failed_runs", "INT", "Failed runs in the window"),
            ("baseline_runs", "INT", "Terminal runs in the baseline period"),
            ("window_start", "TIMESTAMP", "Start of the scoring window"),
            ("window_end", "TIMESTAMP", "End of the scoring window: the data the score has seen (as of); "
                                        "before calculation_time while the day is still running"),
            ("confidence", "DOUBLE", "0-1: min(1, runs_in_window / min_runs_for_confidence)"),
            ("raw_score", "DOUBLE", "Score before shrinkage toward the prior"),
        ),
        *_cols(
            ("current_failure_streak", "INT", "Failed runs since the job's last successful run in the window "
                                              "(0: its latest run succeeded)"),
        ),
        *_POINTS_LOST,
        *_cols(
            ("points_lost_uncertainty", "DOUBLE", "Points lost to shrinkage toward the prior (few runs)"),
            ("trend_statistic", "DOUBLE", "z of the deciding trend test (positive = worse)"),
            ("trend_reason", "STRING", "Which test decided the trend, with its figures"),
            ("explanation", "STRING", "Human summary of the points lost"),
        ),
    ),
)

JOB_ANOMALIES = OutputTable(
    name="job_anomalies",
    comment="Anomalies per run, per job and per cluster metric series, scored causally",
    keys=("anomaly_id",),
    time_column="detected_at",
    columns=_cols(
        ("anomaly_id", "STRING", "sha2 of type, workspace, job, run, cluster, metric and time: re-runs MERGE"),
        ("workspace_id", "STRING", "Workspace id"),
        ("job_id", "STRING", "Job id (NULL for a cluster series without a job)"),
        ("job_name", "STRING", "Job name when known"),
        ("run_id", "STRING", "Run the anomaly belongs to, when there is one"),
        ("cluster_id", "STRING", "Cluster of a resource anomaly"),
        ("metric", "STRING", "duration_minutes, dbus_per_hour, memory_utilization, failures..."),
        ("observed", "DOUBLE", "Observed value"),
        ("expected", "DOUBLE", "Expected value (baseline median or detector centre)"),
        ("lower_bound", "DOUBLE", "Lower end of the normal band"),
        ("upper_bound", "DOUBLE", "Upper end of the normal band"),
        ("score", "DOUBLE", "0-1 anomaly score"),
        ("severity", "STRING", "info, low, medium, high or critical (anomaly.severity_thresholds)"),
        ("method", "STRING", "Detector that found it"),
        ("anomaly_type", "STRING", "duration_regression, failure_streak, memory_saturation_forecast..."),
        ("detected_at", "TIMESTAMP", "Time of the point that raised it (run end, metric minute), not wall clock"),
        ("interval_end", "TIMESTAMP", "End of the cycle that first found it (its analysis watermark)"),
        ("explanation", "STRING", "Human explanation"),
        ("backfilled", "BOOLEAN", "Found older than analysis.notify_max_age_hours (a first backfill, a long gap): "
                                  "recorded, not notified"),
    ),
    bookkeeping=("interval_end", "backfilled"),
)

register(JOB_HEALTH_SCORES)
register(JOB_ANOMALIES)

__all__ = ["COMPONENTS", "JOB_ANOMALIES", "JOB_HEALTH_SCORES"]
