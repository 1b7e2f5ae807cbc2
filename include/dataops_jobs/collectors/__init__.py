"""Collectors: system tables to the monitoring tables, incrementally (see :class:`BaseCollector`)."""

from __future__ import annotations

from dataops_jobs.collectors.base import BaseCollector, CollectResult, Interval

__all__ = ["BaseCollector", "CollectResult", "Interval", "builtin_collectors"]


def builtin_collectors() -> list[type[BaseCollector]]:
    """The collectors every cycle runs, in order (jobs first: metrics attribution reads its sources)."""
    from dataops_jobs.collectors.costs import CostsCollector
    from dataops_jobs.collectors.jobs import JobsCollector
    from dataops_jobs.collectors.metrics import MetricsCollector

    return [JobsCollector, MetricsCollector, CostsCollector]
