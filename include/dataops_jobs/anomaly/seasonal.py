"""Daily-pattern test for the streaming detector: a level unlike the same time one period earlier.

Many resource metrics follow a daily cycle (a nightly batch, office hours). A cycle that changes
shape -- the nightly peak does not come, the day's plateau stays low, the series goes flat in the
middle of its range -- never leaves the range of single values, so the range and level tests cannot
see it. This test compares each point with the point one ``period_seconds`` earlier (found by
timestamp among the last ``keep`` points; no comparison when no point lies within ``tolerance``
typical steps of that time, e.g. after a gap) and follows the median of the last ``points``
differences. Like the sustained-shift test, that median is judged against the band spanned by the
2nd smallest / 2nd largest of its *own past values* (the last ``long_window``), widened by
``margin`` times that band: a series without a daily cycle has differences as noisy as itself, so
its band is wide and it stays silent; a regular cycle has a narrow band of differences, and a day
that breaks the pattern for longer than the median's length leaves it.

Causal (only earlier points), counts points and seconds only, JSON-safe state.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from dataops_jobs.anomaly.windows import SortedWindow


@dataclass(frozen=True)
class SeasonalConfig:
    """Settings of :class:`SeasonalShift`; the defaults are the single shared configuration."""

    period_seconds: float = 86400.0
    keep: int = 1600
    points: int = 24
    rank: int = 2
    margin: float = 1.0
    warmup: int = 288
    tolerance: float = 1.5

    def __post_init__(self) -> None:
        if min(self.keep, self.points, self.rank, self.warmup) < 1:
            raise ValueError(f"seasonal window sizes and rank must be >= 1: {self}")
        if min(self.period_seconds, self.margin, self.tolerance) <= 0.0:
            raise ValueError(f"seasonal period, margin and tolerance must be > 0: {self}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeasonalConfig:
        """Build a configuration from :func:`dataclasses.asdict` output."""
        return cls(**data)


class SeasonalShift:
    """Causal strength (1.0 = alarm-worthy) of a break in the daily pattern; see the module docstring."""

    def __init__(self, config: SeasonalConfig | None = None, long_window: int = 4032) -> None:
        self.config = config or SeasonalConfig()
        self._times: deque[float] = deque(maxlen=self.config.keep)
        self._values: deque[float] = deque(maxlen=self.config.keep)
        self._diffs: deque[float] = deque(maxlen=self.config.points)
        self._medians = SortedWindow(long_window)
        self.last_difference = 0.0

    def _period_ago(self, ts: float) -> float | None:
        """The value of the kept point closest after ``ts - period`` (None if none is close enough)."""
        times = self._times
        if len(times) < 2 or ts - times[0] < self.config.period_seconds:
            return None
        target = ts - self.config.period_seconds
        index = min(bisect.bisect_left(times, target), len(times) - 1)
        step = (times[-1] - times[0]) / (len(times) - 1)
        if abs(times[index] - target) > self.config.tolerance * step:
            return None
        return self._values[index]

    def update(self, ts: float, value: float, floor: float) -> float:
        """Strength of the point at ``ts``, then learn it. ``floor`` is the smallest band width used."""
        cfg, strength = self.config, 0.0
        before = self._period_ago(ts)
        if before is not None:
            self._diffs.append(value - before)
            if len(self._diffs) == cfg.points:
                median = statistics.median(self._diffs)
                self.last_difference = median
                medians = self._medians
                if len(medians) >= cfg.warmup:
                    high, low = medians.kth_largest(cfg.rank), medians.kth_smallest(cfg.rank)
                    margin = cfg.margin * max(high - low, floor)
                    strength = (median - high) / margin if median > high else (low - median) / margin
                    strength = max(strength, 0.0)
                medians.push(median)
        self._times.append(ts)
        self._values.append(value)
        return strength

    def to_state(self) -> dict[str, Any]:
        """JSON-safe snapshot; :meth:`from_state` resumes with identical outputs."""
        return {
            "config": asdict(self.config),
            "times": list(self._times),
            "values": list(self._values),
            "diffs": list(self._diffs),
            "medians": self._medians.to_state(),
            "last_difference": self.last_difference,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeasonalShift:
        """Rebuild a test saved by :meth:`to_state`."""
        medians = SortedWindow.from_state(state["medians"])
        seasonal = cls(SeasonalConfig.from_dict(dict(state["config"])), medians.size)
        seasonal._times.extend(float(v) for v in state["times"])
        seasonal._values.extend(float(v) for v in state["values"])
        seasonal._diffs.extend(float(v) for v in state["diffs"])
        seasonal._medians = medians
        seasonal.last_difference = float(state["last_difference"])
        return seasonal
