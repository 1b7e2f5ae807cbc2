"""HTM-style anomaly likelihood over a causal "local surprise" score, for the streaming detector.

Numenta's anomaly likelihood asks whether the short-window average of a raw anomaly score is
improbably high under a Gaussian fitted to the long-window history of that average. It normalises
each series' own score distribution away, so one fixed tail threshold means the same in every
series. HTM's raw score has a near-zero baseline with bursts; here the raw score is built to look
like that without any model of the series:

1. deviation ``d = |x - median(last k values)|`` (how far the point jumps from its recent level);
2. ``rank`` = fraction of the last ``deviation_window`` deviations strictly below ``d`` (a causal,
   scale-free empirical CDF: no min/max, units or file length needed);
3. raw score ``r = rank ** rank_power``: about 0 for ordinary moves, close to 1 only for moves
   larger than almost every recent one (rank 0.99 -> 0.82, rank 0.9 -> 0.12 with power 20).

The likelihood then averages the last ``averaging`` raw scores, fits mean and variance to the last
``history`` averages (exact running sums, floors as in NuPIC: mean >= 0.03, variance >= 3e-4), and
turns the one-sided Gaussian tail ``q`` of the current average into a strength
``log10(q) / log10(tail)``, so a strength of 1.0 means ``q == tail``. Nothing is scored before
``learning`` averages exist. Everything counts points, and the state is JSON-safe.

The Gaussian is a poor fit to the heavy-tailed averages of ``rank ** 20``: on pure i.i.d. noise it
would still reach the tail every few thousand points. So the strength is capped below 1.0 unless the
largest deviation of the averaged points is at least ``gate`` times the series' typical spread
(passed in by the caller, e.g. the inter-quartile range of its long window): a burst of surprise
only alarms when the moves are also large in the series' own units.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from dataops_jobs.anomaly.windows import SortedWindow

_MIN_TAIL = 1e-300


@dataclass(frozen=True)
class LikelihoodConfig:
    """Settings of :class:`AnomalyLikelihood`; the defaults are the single shared configuration."""

    deviation_points: int = 5
    deviation_window: int = 4032
    rank_power: float = 20.0
    averaging: int = 5
    history: int = 4032
    learning: int = 100
    tail: float = 1e-8
    mean_floor: float = 0.03
    variance_floor: float = 3e-4
    gate: float = 5.0

    def __post_init__(self) -> None:
        sizes = (self.deviation_points, self.deviation_window, self.averaging, self.history, self.learning)
        if min(sizes) < 1:
            raise ValueError(f"likelihood window sizes must be >= 1: {self}")
        if not 0.0 < self.tail < 0.5:
            raise ValueError(f"likelihood tail must be in (0, 0.5), got {self.tail}")
        if min(self.rank_power, self.variance_floor, self.gate) <= 0.0 or self.mean_floor < 0.0:
            raise ValueError(f"rank_power, variance_floor, gate must be > 0, mean_floor >= 0: {self}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LikelihoodConfig:
        """Build a configuration from :func:`dataclasses.asdict` output."""
        return cls(**data)


class AnomalyLikelihood:
    """Causal tail-probability strength of the recent "local surprise"; see the module docstring."""

    def __init__(self, config: LikelihoodConfig | None = None) -> None:
        self.config = config or LikelihoodConfig()
        self._recent_values: deque[float] = deque(maxlen=self.config.deviation_points)
        self._deviations = SortedWindow(self.config.deviation_window)
        self._raw: deque[float] = deque(maxlen=self.config.averaging)
        self._raw_deviations: deque[float] = deque(maxlen=self.config.averaging)
        self._averages: deque[float] = deque()
        self._sum = 0.0
        self._sum_sq = 0.0

    def update(self, value: float, spread: float) -> float:
        """Strength of ``value`` (1.0 = tail probability at ``config.tail``), then learn it.

        ``spread`` is the series' typical spread before this point (> 0), for the gate.
        """
        cfg = self.config
        if not self._recent_values:
            self._recent_values.append(value)
            return 0.0
        deviation = abs(value - statistics.median(self._recent_values))
        n_dev = len(self._deviations)
        rank = self._deviations.count_below(deviation) / n_dev if n_dev else 0.0
        self._deviations.push(deviation)
        self._recent_values.append(value)
        self._raw.append(rank**cfg.rank_power)
        self._raw_deviations.append(deviation)
        average = sum(self._raw) / len(self._raw)
        strength = self._strength(average)
        gate = cfg.gate * max(spread, 1e-12)
        strength = min(strength, max(self._raw_deviations) / gate)
        if len(self._averages) == cfg.history:
            oldest = self._averages.popleft()
            self._sum -= oldest
            self._sum_sq -= oldest * oldest
        self._averages.append(average)
        self._sum += average
        self._sum_sq += average * average
        return strength

    def _strength(self, average: float) -> float:
        cfg, n = self.config, len(self._averages)
        if n < cfg.learning:
            return 0.0
        mean = max(self._sum / n, cfg.mean_floor)
        variance = max(self._sum_sq / n - (self._sum / n) ** 2, cfg.variance_floor)
        tail = 0.5 * math.erfc((average - mean) / math.sqrt(2.0 * variance))
        return math.log10(max(tail, _MIN_TAIL)) / math.log10(cfg.tail)

    def to_state(self) -> dict[str, Any]:
        """JSON-safe snapshot; :meth:`from_state` resumes with identical outputs."""
        return {
            "config": asdict(self.config),
            "recent_values": list(self._recent_values),
            "deviations": self._deviations.to_state(),
            "raw": list(self._raw),
            "raw_deviations": list(self._raw_deviations),
            "averages": list(self._averages),
            "sum": self._sum,
            "sum_sq": self._sum_sq,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyLikelihood:
        """Rebuild an estimator saved by :meth:`to_state`."""
        likelihood = cls(LikelihoodConfig.from_dict(dict(state["config"])))
        likelihood._recent_values.extend(float(v) for v in state["recent_values"])
        likelihood._deviations = SortedWindow.from_state(state["deviations"])
        likelihood._raw.extend(float(v) for v in state["raw"])
        likelihood._raw_deviations.extend(float(v) for v in state["raw_deviations"])
        likelihood._averages.extend(float(v) for v in state["averages"])
        likelihood._sum = float(state["sum"])
        likelihood._sum_sq = float(state["sum_sq"])
        return likelihood
