"""Labelled sizing jobs: over-provisioned, well-sized, memory-starved and bursty job clusters with
known right answers (``<root>/_sizing_labels.json``), for the recommendation benchmark.

A profile replaces the compute of one reserved job index (present when the simulation has more
jobs than the index). Driver and workers share a node type, the job runs every 4 hours without
incidents, and its workers run at ``cpu`` percent (uniform 0.7-1.3 x per minute, see ``nodes``)
with memory ``mem`` (+8 points over a run, +-2 noise).

The right answer of an over-provisioned profile is the smallest n with
``workers x cpu x 1.3 / n < 85`` (the busiest minute, not only the 90th percentile) and
``workers x (mem + 10) / n < 90``; the parameters are chosen so that every percentile between
the median (``cpu``, ``mem + 4``) and the maximum gives the same n (``right_workers`` checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OVER = "over_provisioned"
WELL = "well_sized"
MEMORY = "memory_pressure"
BURSTY = "autoscaling"


@dataclass(frozen=True)
class SizingProfile:
    """The compute of a labelled job."""

    label: str
    node: str
    workers: int
    cpu: float
    mem: float
    low_cpu: float | None = None  # BURSTY: CPU after the first ``high_share`` of the busy time
    high_share: float = 1.0
    memory_failure_rate: float = 0.0  # MEMORY: runs failing with DRIVER_ERROR under the leak

    def right_workers(self, cpu_target: float = 85.0, mem_target: float = 90.0) -> int:
        """The smallest worker count keeping every busy minute under both targets."""
        if self.label != OVER:
            return self.workers
        lo = max(math.floor(self.workers * self.cpu / cpu_target), math.floor(self.workers * (self.mem + 4) / mem_target))
        hi = max(math.floor(self.workers * self.cpu * 1.3 / cpu_target), math.floor(self.workers * (self.mem + 10) / mem_target))
        if lo != hi:
            raise ValueError(f"profile {self} has no unambiguous right size ({lo + 1} vs {hi + 1})")
        return hi + 1


PROFILES: dict[int, SizingProfile] = {
    20: SizingProfile(OVER, "m5d.xlarge", 8, cpu=23.0, mem=20.0),
    21: SizingProfile(OVER, "r5d.xlarge", 6, cpu=20.0, mem=15.0),
    22: SizingProfile(OVER, "m5d.2xlarge", 4, cpu=27.0, mem=30.0),
    23: SizingProfile(WELL, "m5d.xlarge", 4, cpu=75.0, mem=55.0),
    24: SizingProfile(MEMORY, "m5d.xlarge", 2, cpu=55.0, mem=60.0, memory_failure_rate=0.3),
    25: SizingProfile(BURSTY, "m5d.xlarge", 8, cpu=72.0, mem=40.0, low_cpu=20.0, high_share=0.35),
}
MEDIAN_MINUTES = 40.0
LEAK_TARGET = 98.0


def profile_of(index: int, jobs: int) -> SizingProfile | None:
    """The profile of job ``index`` in a simulation of ``jobs`` jobs (None for ordinary jobs)."""
    return PROFILES.get(index) if index < jobs else None
