"""Failure patterns of one job, judged run by run in the order runs end (pure Python, resumable state).

* **Failure streak**: consecutive failed runs (ERROR, FAILED, TIMED_OUT). Raised once when the streak
  becomes due -- at its ``failure_streak_runs``-th (N) failure, or earlier at its second failure when
  the failures already span ``failure_streak_hours`` -- and again at 2N (escalated), never at every
  run of the streak. The time condition is for infrequent jobs: a weekly job that failed twice has
  been broken for a week, and waiting for its third failure would mean a third week. Two failures
  of a daily job span about a day, so with the default of 48 hours a daily job still needs N failures.
* **New termination code**: a failed run ends with a termination code this job has not produced
  before, once the job has ``min_history_runs`` runs before it.
* **Retry storm**: at least ``retry_storm_runs`` of the last ``retry_storm_window`` runs were repaired
  (``attempts > 1``) or were automatic retries; raised when the count reaches the threshold.

Everything is causal: a run is judged by the runs that ended before it. :class:`FailureTracker`
keeps what that needs (streak, counters, the codes seen, the recent retries) as a small JSON-safe
state, so a cycle feeds it only the runs that ended since the last one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True)
class FailureConfig:
    """Settings of :class:`FailureTracker` (from ``anomaly.*``)."""

    streak_runs: int = 3
    streak_hours: float | None = 48.0
    min_history: int = 8
    storm_runs: int = 4
    storm_window: int = 10


@dataclass(frozen=True)
class TerminalRun:
    """What the failure patterns need of one finished run."""

    run_id: str
    start: datetime
    end: datetime
    is_failed: bool
    result_state: str | None
    termination_code: str | None
    retried: bool
    cluster_id: str | None = None


def _finding(run: TerminalRun, **values: Any) -> dict[str, Any]:
    return {"run_id": run.run_id, "cluster_id": run.cluster_id, "detected_at": run.end, **values}


class FailureTracker:
    """Failure streaks, new termination codes and retry storms of one job; see the module docstring."""

    def __init__(self, config: FailureConfig | None = None) -> None:
        self.config = config or FailureConfig()
        self.runs = 0
        self.failed = 0
        self.streak = 0
        self.first_failed: float | None = None
        self.due = False
        self.codes: set[str] = set()
        self.retried: deque[bool] = deque(maxlen=self.config.storm_window)

    def update(self, run: TerminalRun) -> list[dict[str, Any]]:
        """Judge ``run`` against the runs before it, then learn it; return the findings."""
        found = [*self._streak(run), *self._new_code(run), *self._storm(run)]
        self.runs += 1
        self.failed += int(run.is_failed)
        if run.termination_code is not None:
            self.codes.add(run.termination_code)
        return found

    def _streak(self, run: TerminalRun) -> list[dict[str, Any]]:
        cfg = self.config
        if not run.is_failed:
            self.streak, self.first_failed, self.due = 0, None, False
            return []
        self.streak += 1
        if self.first_failed is None:
            self.first_failed = run.start.timestamp()
        hours = (run.end.timestamp() - self.first_failed) / 3600.0
        long_enough = cfg.streak_hours is not None and self.streak >= 2 and hours >= cfg.streak_hours
        due = self.streak >= cfg.streak_runs or long_enough
        raise_now = (due and not self.due) or self.streak == 2 * cfg.streak_runs
        self.due = due
        if not raise_now:
            return []
        rate = self.failed / self.runs if self.runs else 0.0
        text = (f"{self.streak} consecutive failed runs over {hours:.0f} hours (last ended {run.result_state} "
                f"with {run.termination_code or 'no code'}); the job failed {rate * 100:.0f}% of its earlier runs")
        return [_finding(run, metric="consecutive_failures", observed=float(self.streak), expected=0.0,
                         lower_bound=0.0, upper_bound=float(cfg.streak_runs - 1),
                         score=1.0 - 0.5 ** (self.streak * 2.0 / cfg.streak_runs),
                         method="consecutive_failures", anomaly_type="failure_streak", explanation=text)]

    def _new_code(self, run: TerminalRun) -> list[dict[str, Any]]:
        code = run.termination_code
        if not run.is_failed or code is None or code in self.codes or self.runs < self.config.min_history:
            return []
        text = f"run failed with termination code {code}, never seen for this job in its previous {self.runs} runs"
        return [_finding(run, metric="termination_code", observed=1.0, expected=0.0, lower_bound=0.0,
                         upper_bound=0.0, score=0.6, method="first_occurrence", anomaly_type="new_termination_code",
                         explanation=text)]

    def _storm(self, run: TerminalRun) -> list[dict[str, Any]]:
        self.retried.append(run.retried)
        threshold, recent = self.config.storm_runs, sum(self.retried)
        if not (run.retried and recent == threshold):
            return []
        text = f"retry storm: {recent} of the last {len(self.retried)} runs were repaired or retried"
        return [_finding(run, metric="retried_runs", observed=float(recent), expected=0.0, lower_bound=0.0,
                         upper_bound=float(threshold - 1), score=1.0 - 0.5 ** (recent / threshold * 1.5),
                         method="rolling_count", anomaly_type="retry_storm", explanation=text)]

    def to_state(self) -> dict[str, Any]:
        """JSON-safe snapshot (the config is not part of it)."""
        return {"runs": self.runs, "failed": self.failed, "streak": self.streak, "first_failed": self.first_failed,
                "due": self.due, "codes": sorted(self.codes), "retried": list(self.retried)}

    @classmethod
    def from_state(cls, state: dict[str, Any], config: FailureConfig | None = None) -> FailureTracker:
        """Resume a tracker saved by :meth:`to_state`."""
        tracker = cls(config)
        tracker.runs, tracker.failed = int(state["runs"]), int(state["failed"])
        tracker.streak, tracker.due = int(state["streak"]), bool(state["due"])
        tracker.first_failed = None if state["first_failed"] is None else float(state["first_failed"])
        tracker.codes = set(state["codes"])
        tracker.retried.extend(bool(r) for r in state["retried"])
        return tracker


__all__ = ["FailureConfig", "FailureTracker", "TerminalRun"]
