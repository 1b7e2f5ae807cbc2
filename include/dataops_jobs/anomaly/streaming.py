"""A causal streaming anomaly detector for one univariate resource metric (CPU, disk, network...).

Each :meth:`StreamingDetector.update` sees one (timestamp, value) and scores it using only the
past, so the detector runs row by row inside Spark's ``applyInPandas`` and resumes from a saved
JSON-safe state between micro-batches. Pure Python: no numpy, pandas, Spark or Airflow.

Five tests, each scaled so that a strength of 1.0 is "alarm-worthy", are combined by their
maximum. Three compare the present with a long trailing window (two weeks of 5-minute points):

* **new extreme** (HTM's "spatial anomaly" rule, made robust to one stray spike): the value leaves
  the band spanned by the 2nd smallest / 2nd largest value of the window, widened by 2.5 % of that
  range. While the window is still filling, the margin is widened by ``sqrt(long_window / seen)``:
  the edges of a band learnt from a few hundred points are uncertain (every fresh day brings a
  "new" extreme of ordinary noise), and the uncertainty of a sample extreme shrinks with the number
  of points seen. Nothing about the series is assumed, only the count of points already learnt;
* **level shift**: the median of the last five values leaves the window's 1 %..99 % quantile band
  by a quarter of that band's width;
* **sustained shift**: the median of the last ``shift_points`` (24: two hours at 5 minutes) values
  leaves the band spanned by the 2nd smallest / 2nd largest of the *past medians of the same
  length*, widened by 10 % of that band. Comparing a rolling median with the distribution of its
  own past values (not with single points, whose band is much wider) finds a level that moved by
  less than the noise of single points but for longer than ever before: a CPU idling at 1.8 that
  sits at 2.0 for two hours. A daily cycle does not trigger it, because past medians already span
  the cycle.

The fourth is an HTM-style **anomaly likelihood** (:mod:`dataops_jobs.anomaly.likelihood`): the
average "local surprise" of the last five points (how the jump from the recent median ranks among
the last two weeks of jumps) is improbably high under a Gaussian fitted to its own history (tail
probability <= 1e-8), provided the moves are also at least five inter-quartile ranges of the
trailing window (which keeps i.i.d. noise silent). It catches a burst of unusual movement inside
the usual range (a small spike in a quiet stretch, a quiet series waking up) that the range tests
cannot see.

The fifth is a **daily-pattern** test (:mod:`dataops_jobs.anomaly.seasonal`): the median of the last
24 differences between each point and the point one day earlier (by timestamp) leaves the band of
its own past values by more than that band's width. It finds a daily cycle that changes shape (the
nightly peak does not come, the series goes flat mid-range) without any value leaving the usual
range; series without a daily cycle have noisy differences, a wide band, and stay silent.

The combined strength ``s`` becomes a score ``s / (1 + s)`` in [0, 1); the detector alarms at its own
fixed threshold (score >= 0.5, i.e. s >= 1). One alarm is raised per episode: after an alarm the
detector stays silent for ``holdoff`` points and then until the strength has dropped below
``rearm_strength``. Nothing depends on the series' length, its min/max or on labels, and windows
and hold-off count points, so duplicated, backwards or missing timestamps do not break it.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataops_jobs.anomaly.likelihood import AnomalyLikelihood, LikelihoodConfig
from dataops_jobs.anomaly.seasonal import SeasonalConfig, SeasonalShift
from dataops_jobs.anomaly.windows import SortedWindow

if TYPE_CHECKING:
    from collections.abc import Sequence

STATE_VERSION = 4
_READABLE_STATE_VERSIONS = (1, 2, 3, 4)
ALARM_SCORE = 0.5
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings; the defaults are the single configuration used for every series."""

    warmup: int = 288
    long_window: int = 4032
    extreme_rank: int = 2
    extreme_margin: float = 0.025
    level_points: int = 5
    level_quantile: float = 0.01
    level_margin: float = 0.25
    holdoff: int = 75
    rearm_strength: float = 0.5
    relative_floor: float = 1e-3
    likelihood: LikelihoodConfig | None = field(default_factory=LikelihoodConfig)
    shift_points: int = 24
    shift_rank: int = 2
    shift_margin: float = 0.1
    early_widening: float = 0.5
    seasonal: SeasonalConfig | None = field(default_factory=SeasonalConfig)

    def __post_init__(self) -> None:
        sizes = (
            self.warmup,
            self.long_window,
            self.extreme_rank,
            self.level_points,
            self.shift_points,
            self.shift_rank,
        )
        if min(sizes) < 1:
            raise ValueError(f"window sizes and ranks must be >= 1: {self}")
        if self.early_widening < 0.0:
            raise ValueError(f"early_widening must be >= 0, got {self.early_widening}")
        if not 0.0 <= self.level_quantile < 0.5:
            raise ValueError(f"level_quantile must be in [0, 0.5), got {self.level_quantile}")
        if min(self.extreme_margin, self.level_margin, self.shift_margin, self.relative_floor) <= 0.0:
            raise ValueError(f"margins and relative_floor must be > 0: {self}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        """Build a configuration from :func:`dataclasses.asdict` output."""
        data = dict(data)
        if "likelihood" in data:
            likelihood = data.pop("likelihood")
            data["likelihood"] = None if likelihood is None else LikelihoodConfig.from_dict(dict(likelihood))
        if "seasonal" in data:
            seasonal = data.pop("seasonal")
            data["seasonal"] = None if seasonal is None else SeasonalConfig.from_dict(dict(seasonal))
        return cls(**data)


@dataclass(frozen=True)
class DetectorOutput:
    """The verdict on one point: score in [0, 1], alarm flag, expected value and band, and why."""

    timestamp: float
    value: float
    score: float
    alarm: bool
    expected: float
    lower: float
    upper: float
    explanation: str


@dataclass(frozen=True)
class _Verdict:
    """Strength of each test for one point (1.0 = alarm-worthy) and the band it was judged by."""

    extreme: float
    level: float
    shift: float
    likelihood: float
    seasonal: float
    recent_median: float
    shift_median: float
    seasonal_difference: float
    expected: float
    lower: float
    upper: float

    @property
    def strength(self) -> float:
        return max(self.extreme, self.level, self.shift, self.likelihood, self.seasonal)

    def describe(self, value: float) -> str:
        if self.seasonal > max(self.extreme, self.level, self.shift, self.likelihood):
            return (
                f"daily pattern broken: recent points differ by {self.seasonal_difference:+.6g} from the same "
                f"time a day earlier, more than ever in the window (daily-pattern strength {self.seasonal:.2f})"
            )
        if self.shift > max(self.extreme, self.level, self.likelihood):
            return (
                f"level held at {self.shift_median:.6g} for longer than ever in the window, away from "
                f"{self.expected:.6g} (sustained-shift strength {self.shift:.2f})"
            )
        if self.likelihood > max(self.extreme, self.level):
            return (
                f"recent moves unusually large for this series around {self.expected:.6g} "
                f"(likelihood strength {self.likelihood:.2f})"
            )
        if self.extreme >= self.level:
            side = "above" if value > self.upper else "below" if value < self.lower else "inside"
            return (
                f"value {value:.6g} {side} the band [{self.lower:.6g}, {self.upper:.6g}] "
                f"(new-extreme strength {self.extreme:.2f})"
            )
        return (
            f"median of recent points {self.recent_median:.6g} shifted away from {self.expected:.6g} "
            f"(level-shift strength {self.level:.2f})"
        )


def to_epoch(timestamp: datetime | float) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC (no local-timezone lookup)."""
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            return (timestamp - _EPOCH).total_seconds()
        return (timestamp.astimezone(timezone.utc).replace(tzinfo=None) - _EPOCH).total_seconds()
    return float(timestamp)


def _excess(value: float, low: float, high: float, margin: float) -> float:
    """How far ``value`` lies outside [low, high], in units of ``margin`` (0 inside)."""
    if value > high:
        return (value - high) / margin
    if value < low:
        return (low - value) / margin
    return 0.0


class StreamingDetector:
    """Causal, stateful anomaly detector for one metric series; see the module docstring."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._history = SortedWindow(self.config.long_window)
        lik_config = self.config.likelihood
        self._likelihood = None if lik_config is None else AnomalyLikelihood(lik_config)
        self._shift_recent: deque[float] = deque(maxlen=self.config.shift_points)
        self._shift_medians = SortedWindow(self.config.long_window)
        seasonal = self.config.seasonal
        self._seasonal = None if seasonal is None else SeasonalShift(seasonal, self.config.long_window)
        self._count = 0
        self._last_alarm = -1
        self._armed = True
        self._last_timestamp: float | None = None

    @property
    def last_timestamp(self) -> float | None:
        """Epoch seconds of the last point learnt (lets a resumed job skip points already seen)."""
        return self._last_timestamp

    def update(self, timestamp: datetime | float, value: float) -> DetectorOutput:
        """Score one point against the past only, then learn it."""
        ts = to_epoch(timestamp)
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"value must be finite, got {value!r} at {timestamp!r}")
        likelihood = 0.0 if self._likelihood is None else self._likelihood.update(value, self._spread())
        seasonal = 0.0 if self._seasonal is None else self._seasonal.update(ts, value, self._floor())
        self._shift_recent.append(value)
        shift_median = statistics.median(self._shift_recent)
        if self._count < self.config.warmup:
            remaining = self.config.warmup - self._count
            output = DetectorOutput(ts, value, 0.0, False, value, value, value, f"warm-up, {remaining} left")
        else:
            output = self._decide(ts, value, self._verdict(value, likelihood, seasonal, shift_median))
        if len(self._shift_recent) == self.config.shift_points:
            self._shift_medians.push(shift_median)
        self._history.push(value)
        self._count += 1
        self._last_timestamp = ts
        return output

    def score_series(
        self, timestamps: Sequence[datetime | float], values: Sequence[float]
    ) -> list[DetectorOutput]:
        """Feed a whole series in order (same results as calling :meth:`update` per point)."""
        if len(timestamps) != len(values):
            raise ValueError(f"{len(timestamps)} timestamps but {len(values)} values")
        return [self.update(ts, value) for ts, value in zip(timestamps, values, strict=True)]

    def to_state(self) -> dict[str, Any]:
        """JSON-safe snapshot from which :meth:`from_state` resumes with identical outputs."""
        return {
            "version": STATE_VERSION,
            "config": asdict(self.config),
            "history": self._history.to_state(),
            "likelihood": None if self._likelihood is None else self._likelihood.to_state(),
            "shift_recent": list(self._shift_recent),
            "shift_medians": self._shift_medians.to_state(),
            "seasonal": None if self._seasonal is None else self._seasonal.to_state(),
            "count": self._count,
            "last_alarm": self._last_alarm,
            "armed": self._armed,
            "last_timestamp": self._last_timestamp,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StreamingDetector:
        """Rebuild a detector saved by :meth:`to_state`.

        A state of an earlier version (1-3: other tests, other defaults) is upgraded to the current
        default configuration by replaying its trailing window of values into a fresh detector, so
        the resumed detector does not start learning from zero. The daily-pattern test starts empty
        (those states kept no timestamps) and judges once it has a day and its warm-up of points.
        """
        version = state.get("version")
        if version not in _READABLE_STATE_VERSIONS:
            raise ValueError(f"unsupported detector state version {version!r}")
        if version != STATE_VERSION:
            detector = cls()
            detector._replay(SortedWindow.from_state(state["history"]).recent(detector.config.long_window))
        else:
            detector = cls(DetectorConfig.from_dict(dict(state["config"])))
            detector._history = SortedWindow.from_state(state["history"])
            if state["likelihood"] is not None:
                detector._likelihood = AnomalyLikelihood.from_state(state["likelihood"])
            detector._shift_recent.extend(float(v) for v in state["shift_recent"])
            detector._shift_medians = SortedWindow.from_state(state["shift_medians"])
            if state["seasonal"] is not None:
                detector._seasonal = SeasonalShift.from_state(state["seasonal"])
        detector._count = int(state["count"])
        detector._last_alarm = int(state["last_alarm"])
        detector._armed = bool(state["armed"])
        last = state["last_timestamp"]
        detector._last_timestamp = None if last is None else float(last)
        return detector

    def _replay(self, values: list[float]) -> None:
        """Learn values without timestamps or verdicts (upgrading a pre-version-4 state)."""
        for value in values:
            if self._likelihood is not None:
                self._likelihood.update(value, self._spread())
            self._shift_recent.append(value)
            if len(self._shift_recent) == self.config.shift_points:
                self._shift_medians.push(statistics.median(self._shift_recent))
            self._history.push(value)

    def _scale(self, spread: float, centre: float) -> float:
        """Floor a spread so that a flat series does not alarm on its first tiny change."""
        return max(spread, self.config.relative_floor * abs(centre), 1e-9)

    def _floor(self) -> float:
        """The smallest band width for the daily-pattern test (a fraction of the typical level)."""
        return self._scale(0.0, self._history.quantile(0.5)) if len(self._history) else 1e-9

    def _spread(self) -> float:
        """Typical spread of the trailing window (floored inter-quartile range), for the likelihood gate."""
        hist = self._history
        if not len(hist):
            return 1e-9
        return self._scale(hist.quantile(0.75) - hist.quantile(0.25), hist.quantile(0.5))

    def _shift_strength(self, shift_median: float) -> float:
        """How far the rolling median leaves the band of its own past values (0 until it has history)."""
        cfg, medians = self.config, self._shift_medians
        if len(medians) < cfg.warmup:
            return 0.0
        high, low = medians.kth_largest(cfg.shift_rank), medians.kth_smallest(cfg.shift_rank)
        margin = cfg.shift_margin * self._scale(high - low, medians.quantile(0.5))
        return _excess(shift_median, low, high, margin)

    def _verdict(self, value: float, likelihood: float, seasonal: float, shift_median: float) -> _Verdict:
        cfg, hist = self.config, self._history
        centre = hist.quantile(0.5)
        high, low = hist.kth_largest(cfg.extreme_rank), hist.kth_smallest(cfg.extreme_rank)
        # Uncertain edges while the window fills: see the module docstring (factor 1 once it is full).
        widening = (cfg.long_window / len(hist)) ** cfg.early_widening
        extreme_margin = cfg.extreme_margin * widening * self._scale(high - low, centre)
        recent = statistics.median([*hist.recent(cfg.level_points - 1), value])
        q_high, q_low = hist.quantile(1.0 - cfg.level_quantile), hist.quantile(cfg.level_quantile)
        level_margin = cfg.level_margin * self._scale(q_high - q_low, centre)
        return _Verdict(
            extreme=_excess(value, low, high, extreme_margin),
            level=_excess(recent, q_low, q_high, level_margin),
            shift=self._shift_strength(shift_median),
            likelihood=likelihood,
            seasonal=seasonal,
            recent_median=recent,
            shift_median=shift_median,
            seasonal_difference=0.0 if self._seasonal is None else self._seasonal.last_difference,
            expected=centre,
            lower=low - extreme_margin,
            upper=high + extreme_margin,
        )

    def _decide(self, ts: float, value: float, verdict: _Verdict) -> DetectorOutput:
        strength = verdict.strength
        score = strength / (1.0 + strength)
        since = self._count - self._last_alarm
        if not self._armed and since > self.config.holdoff:
            self._armed = strength < self.config.rearm_strength
        alarm = self._armed and score >= ALARM_SCORE
        text = verdict.describe(value)
        if alarm:
            self._last_alarm, self._armed = self._count, False
            text = f"ALARM: {text}"
        elif score >= ALARM_SCORE:
            text = f"suppressed (same episode as the alarm {since} points ago): {text}"
        return DetectorOutput(ts, value, score, alarm, verdict.expected, verdict.lower, verdict.upper, text)
