"""Output tables of the recommendations stage: ``job_recommendations`` and its per-run evidence.

Importing this module registers both with :func:`dataops_jobs.schemas.output.register`.
"""

from __future__ import annotations

from dataops_jobs.schemas.output import OutputTable, _cols, register

JOB_RECOMMENDATIONS = OutputTable(
    name="job_recommendations",
    comment="Right-sizing and cost recommendations: one row per job (or cluster), kind and week; "
            "is_current marks the latest evaluation",
    keys=("workspace_id", "job_id", "cluster_id", "kind", "period"),
    time_column="evaluated_at",
    columns=_cols(
        ("workspace_id", "STRING", "Workspace id"),
        ("job_id", "STRING", "Job id (NULL for a cluster-level recommendation)"),
        ("cluster_id", "STRING", "All-purpose cluster of a cluster-level recommendation, else NULL"),
        ("kind", "STRING", "over_provisioned_workers, idle_time, all_purpose_compute, memory_pressure "
                           "or autoscaling_bounds"),
        ("period", "DATE", "Monday (UTC) of the week of the evaluation: one row per week is kept"),
        ("job_name", "STRING", "Job name (cluster name for a cluster-level recommendation)"),
        ("current_config", "STRING", "What is configured now, for example num_workers 8"),
        ("proposed", "STRING", "The proposed setting, for example num_workers 3"),
        ("proposed_change", "STRING", "The change in one line, for example num_workers 8 → 3"),
        ("confidence", "DOUBLE", "0-1: grows with the runs the evidence is based on"),
        ("estimated_monthly_savings", "DOUBLE", "Per 30 days at today's list prices; negative = added cost"),
        ("monthly_cost", "DOUBLE", "What the job (or cluster) costs per 30 days at today's list prices"),
        ("currency", "STRING", "Currency of the list prices"),
        ("p95_minutes", "DOUBLE", "p95 run duration over the evidence window"),
        ("predicted_p95_minutes", "DOUBLE", "p95 duration predicted after the change"),
        ("duration_risk", "STRING", "none, low or medium (changes that would breach the headroom are "
                                    "never recommended)"),
        ("evidence", "STRING", "JSON: metrics, percentiles, runs considered and thresholds used"),
        ("runs_considered", "INT", "Terminal runs in the evidence window"),
        ("window_start", "TIMESTAMP", "Start of the evidence window"),
        ("window_end", "TIMESTAMP", "End of the evidence window (the evaluation instant)"),
        ("evaluated_at", "TIMESTAMP", "Evaluation that last wrote the row (end of the cycle's interval)"),
        ("is_current", "BOOLEAN", "Written by the latest evaluation (false: superseded or no longer found)"),
    ),
)

RUN_RESOURCE_STATS = OutputTable(
    name="recommendation_run_stats",
    comment="Per job run (and per cluster-day) utilisation summary the recommendations are based on",
    keys=("workspace_id", "cluster_id", "job_id", "run_id", "day"),
    time_column="start_time",
    columns=_cols(
        ("workspace_id", "STRING", "Workspace id"),
        ("cluster_id", "STRING", "Cluster id"),
        ("job_id", "STRING", "Job id (NULL on the cluster-day row)"),
        ("run_id", "STRING", "Run id (NULL on the cluster-day row)"),
        ("day", "DATE", "Day of the run's first minute on the cluster, or the cluster-day"),
        ("start_time", "TIMESTAMP", "First minute"),
        ("minutes", "INT", "Minutes with metrics (cluster-day: minutes the cluster was up)"),
        ("busy_minutes", "INT", "Run minutes with worker CPU at or above recommendations.idle_cpu_percent"),
        ("idle_minutes", "INT", "Cluster-day: minutes up with no run; run: minutes not busy"),
        ("workers", "INT", "Workers (instances reporting minus the driver), at most"),
        ("cpu_p", "DOUBLE", "Workers' CPU percent at utilization_percentile over busy minutes"),
        ("mem_p", "DOUBLE", "Workers' memory percent at utilization_percentile over busy minutes"),
        ("mean_needed_share", "DOUBLE", "Mean over busy minutes of the workers needed for the CPU target / workers"),
        ("low_needed_share", "DOUBLE", "10th percentile of that share"),
        ("memory_peak", "DOUBLE", "Highest instance memory percent"),
        ("swap_max", "DOUBLE", "Highest swap percent"),
        ("updated_at", "TIMESTAMP", "End of the interval that last changed the row"),
    ),
    bookkeeping=("updated_at",),
)

register(JOB_RECOMMENDATIONS)
register(RUN_RESOURCE_STATS)
