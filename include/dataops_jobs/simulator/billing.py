"""billing.usage and billing.list_prices rows: hourly DBU records per job run attempt and per
all-purpose cluster hour, a few RETRACTION/RESTATEMENT pairs, and a mid-period list price change."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dataops_jobs.simulator import constants as c
from dataops_jobs.simulator.ids import rng, stable_uuid, unit

if TYPE_CHECKING:
    from dataops_jobs.simulator.catalog import JobSpec, SimConfig
    from dataops_jobs.simulator.rows import Row, Window
    from dataops_jobs.simulator.runs import Attempt, RunPlan

_Q = Decimal("0.000000001")


def hours_overlapping(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """(clock hour, seconds of ``[start, end)`` inside it)."""
    out = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        nxt = hour + timedelta(hours=1)
        out.append((hour, (min(end, nxt) - max(start, hour)).total_seconds()))
        hour = nxt
    return out


def dbu_rate(job: JobSpec) -> float:
    """DBU per hour of a job's classic cluster (driver + workers, photon doubles the rate)."""
    workers = job.workers if job.autoscale is None else round(sum(job.autoscale) / 2)
    rate = (
        c.NODE_TYPE_BY_NAME[job.driver_node].dbu_per_hour
        + workers * c.NODE_TYPE_BY_NAME[job.worker_node].dbu_per_hour
    )
    return rate * (2.0 if job.photon else 1.0)


def _usage(ws: str, key: str, sku: str, hour: datetime, quantity: float, **extra: Any) -> Row:
    lag = 1 + int(unit("lag", key) * 12)
    return {
        "account_id": c.ACCOUNT_ID,
        "workspace_id": ws,
        "record_id": stable_uuid(key),
        "sku_name": sku,
        "cloud": c.CLOUD,
        "usage_start_time": hour,
        "usage_end_time": hour + timedelta(hours=1),
        "usage_date": hour.date(),
        "usage_unit": "DBU",
        "usage_quantity": Decimal(quantity).quantize(_Q),
        "record_type": "ORIGINAL",
        "ingestion_date": (hour + timedelta(hours=1 + lag)).date(),
        "usage_type": "COMPUTE_TIME",
        **extra,
    }


def _corrections(row: Row, key: str) -> list[Row]:
    """Rarely, a record is retracted (negative quantity) and restated with a corrected quantity."""
    if unit("correction", key) >= 0.006:
        return [row]
    r = rng("correction", key)
    later = row["ingestion_date"] + timedelta(days=r.randint(1, 3))
    retraction = {
        **row,
        "record_id": stable_uuid(key, "retraction"),
        "record_type": "RETRACTION",
        "usage_quantity": -row["usage_quantity"],
        "ingestion_date": later,
    }
    restated = (row["usage_quantity"] * Decimal(str(round(r.uniform(0.85, 1.15), 3)))).quantize(_Q)
    restatement = {
        **row,
        "record_id": stable_uuid(key, "restatement"),
        "record_type": "RESTATEMENT",
        "usage_quantity": restated,
        "ingestion_date": later,
    }
    return [row, retraction, restatement]


def job_usage_rows(plan: RunPlan, window: Window) -> list[Row]:
    """Hourly JOBS usage of each attempt (classic job clusters and serverless; all-purpose is not job-billed)."""
    job = plan.job
    if job.compute == "all_purpose":
        return []
    out: list[Row] = []
    for a in plan.attempts:
        if a.result_state == "SKIPPED":
            continue
        for hour, seconds in hours_overlapping(a.cluster_start, a.end):
            if hour in window and seconds > 0:
                out += _attempt_hour(plan, a, hour, seconds)
    return out


def _attempt_hour(plan: RunPlan, a: Attempt, hour: datetime, seconds: float) -> list[Row]:
    job = plan.job
    version = job.version_at(plan.scheduled)
    meta = {
        "cluster_id": a.cluster_id,
        "job_id": job.job_id,
        "job_run_id": plan.run_id,
        "node_type": job.worker_node if a.cluster_id else None,
        "metastore_id": c.METASTORE_ID,
    }
    common = {
        "custom_tags": dict(version.tags),
        "billing_origin_product": "JOBS",
        "identity_metadata": {"run_as": job.run_as, "created_by": None, "owned_by": None, "run_by": None},
    }
    key = f"{plan.run_id}:{a.number}:{hour:%Y%m%d%H}"
    if job.compute == "serverless":
        quantity = c.SERVERLESS_DBU_PER_HOUR * seconds / 3600 * a.dbu_factor
        features = {"is_serverless": True, "is_photon": True, "performance_target": "PERFORMANCE_OPTIMIZED"}
        rows = [
            _usage(
                job.workspace_id,
                f"{key}:{part}",
                c.SKU_JOBS_SERVERLESS,
                hour,
                quantity * share,
                usage_metadata=meta,
                product_features=features,
                **common,
            )
            for part, share in enumerate((0.65, 0.35))
        ]
    else:
        quantity = dbu_rate(job) * seconds / 3600 * a.dbu_factor
        sku = c.SKU_JOBS_PHOTON if job.photon else c.SKU_JOBS
        features = {"jobs_tier": "CLASSIC", "is_serverless": False, "is_photon": job.photon}
        rows = [
            _usage(
                job.workspace_id,
                key,
                sku,
                hour,
                quantity,
                usage_metadata=meta,
                product_features=features,
                **common,
            )
        ]
    return [r for row in rows for r in _corrections(row, row["record_id"])]


def all_purpose_usage_rows(
    cluster: str, ws: str, owner: str, hour: datetime, dbu_per_hour: float
) -> list[Row]:
    """One hour of an all-purpose cluster: billed to ALL_PURPOSE, not attributable to a job."""
    meta = {"cluster_id": cluster, "node_type": "m5d.xlarge", "metastore_id": c.METASTORE_ID}
    return [
        _usage(
            ws,
            f"ap:{cluster}:{hour:%Y%m%d%H}",
            c.SKU_ALL_PURPOSE,
            hour,
            dbu_per_hour,
            custom_tags={"team": "analytics"},
            usage_metadata=meta,
            billing_origin_product="ALL_PURPOSE",
            identity_metadata={"run_as": None, "created_by": owner, "owned_by": owner, "run_by": None},
            product_features={"is_serverless": False, "is_photon": False},
        )
    ]


def list_price_rows(cfg: SimConfig, as_of: datetime) -> list[Row]:
    """Price history as known at ``as_of``: the changed SKUs get a new row from day PRICE_CHANGE_DAY."""
    change = cfg.day_start(c.PRICE_CHANGE_DAY)
    out = []
    for point in c.PRICES:
        changed = point.new_price is not None and change <= as_of
        out.append(_price(point.sku, c.PRICE_HISTORY_START, change if changed else None, point.price))
        if changed and point.new_price is not None:
            out.append(_price(point.sku, change, None, point.new_price))
    return out


def _price(sku: str, start: datetime, end: datetime | None, price: Decimal) -> Row:
    value = {"default": price}
    return {
        "account_id": c.ACCOUNT_ID,
        "price_start_time": start,
        "price_end_time": end,
        "sku_name": sku,
        "cloud": c.CLOUD,
        "currency_code": "USD",
        "usage_unit": "DBU",
        "pricing": {"default": price, "promotional": value, "effective_list": value},
    }
