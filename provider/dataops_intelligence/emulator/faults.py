"""Deterministic fault injection for the emulator: throttling, 5xx, slow answers, broken runs."""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dataops_intelligence.emulator.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Error code and message the emulator answers for each injectable HTTP status.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Please wait a moment and try again."),
    500: ("INTERNAL_ERROR", "Internal error (injected by the emulator)."),
    502: ("BAD_GATEWAY", "Bad gateway (injected by the emulator)."),
    503: ("TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable (injected by the emulator)."),
    504: ("DEADLINE_EXCEEDED", "Deadline exceeded (injected by the emulator)."),
}
_API_PREFIX = re.compile(r"^/?(api/2\.\d/)?")


def normalize_endpoint(name: str) -> str:
    """Map ``/api/2.1/jobs/runs/get`` or ``jobs/runs/get`` to the route name ``jobs/runs/get``."""
    return _API_PREFIX.sub("", name.strip()).rstrip("/")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"FaultPlan.{name} must be within [0, 1], got {value!r}")


@dataclass(frozen=True)
class FaultPlan:
    """What the emulator breaks on purpose; all randomness comes from ``seed``.

    Endpoint names are route names such as ``jobs/runs/submit``, ``jobs/runs/get`` or
    ``sql/statements`` (an ``/api/2.x/`` prefix is accepted and dropped). Only ``/api/...`` calls
    are subject to faults; OAuth, discovery and ``/emulator/...`` calls never are.

    Every HTTP fault is decided before the request has any side effect, except
    ``submit_commit_then_fail``: the first N ``runs/submit`` calls create their run and then answer
    503, which is what an idempotency token must survive.
    """

    seed: int = 0
    #: Fraction of API calls answered with one of ``error_statuses`` (picked by the seeded RNG).
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (429, 500, 503)
    #: Integer ``Retry-After`` header sent with 429 and 503 answers.
    retry_after_seconds: int = 1
    #: Slow answers: ``delay_ms`` added to a ``delay_rate`` fraction of API calls.
    delay_ms: int = 0
    delay_rate: float = 1.0
    #: Restrict ``error_rate`` and delays to these endpoints (empty: every API endpoint).
    endpoints: tuple[str, ...] = ()
    #: Fail the first N calls of an endpoint with ``fail_first_status``: ``{"jobs/runs/submit": 2}``.
    fail_first: Mapping[str, int] = field(default_factory=dict)
    fail_first_status: int = 503
    #: Fraction of submitted runs that end ``INTERNAL_ERROR`` (cluster launch failure) without running.
    run_internal_error_rate: float = 0.0
    #: Every run stays ``PENDING`` this long before its cluster starts.
    run_pending_seconds: float = 0.0
    #: The first N ``runs/submit`` calls create the run, then answer 503.
    submit_commit_then_fail: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "delay_rate", "run_internal_error_rate"):
            _check_rate(name, float(getattr(self, name)))
        statuses = tuple(int(s) for s in self.error_statuses)
        for status in (*statuses, self.fail_first_status):
            if status not in _STATUS_ERRORS:
                raise ValueError(f"FaultPlan status {status} is not one of {sorted(_STATUS_ERRORS)}")
        if self.error_rate and not statuses:
            raise ValueError("FaultPlan.error_rate needs at least one status in error_statuses")
        if self.retry_after_seconds < 0 or self.delay_ms < 0 or self.run_pending_seconds < 0:
            raise ValueError("FaultPlan durations must not be negative")
        object.__setattr__(self, "error_statuses", statuses)
        object.__setattr__(self, "endpoints", tuple(normalize_endpoint(e) for e in self.endpoints))
        object.__setattr__(
            self, "fail_first", {normalize_endpoint(k): int(v) for k, v in dict(self.fail_first).items()}
        )
        object.__setattr__(self, "submit_commit_then_fail", int(self.submit_commit_then_fail))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPlan:
        """Build a plan from JSON (``POST /emulator/faults``); unknown keys raise ``ValueError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown FaultPlan field(s) {unknown}; known: {sorted(known)}")
        values = dict(data)
        for name in ("error_statuses", "endpoints"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-safe data."""
        data = dataclasses.asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        data["endpoints"] = list(self.endpoints)
        data["fail_first"] = dict(self.fail_first)
        return data


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one API call: wait ``delay_seconds``, then answer ``error`` if set."""

    kind: str
    delay_seconds: float = 0.0
    error: ApiError | None = None


@dataclass(frozen=True)
class RunFault:
    """Faults drawn for one submitted run."""

    pending_seconds: float = 0.0
    internal_error: bool = False


def fault_error(status: int, retry_after_seconds: int) -> ApiError:
    """Build the Databricks-style error answered for an injected ``status``."""
    code, message = _STATUS_ERRORS[status]
    headers = {"Retry-After": str(retry_after_seconds)} if status in (429, 503) else {}
    return ApiError(status, code, message, headers)


class FaultInjector:
    """Applies a ``FaultPlan`` with a seeded RNG and per-endpoint counters (thread-safe).

    Installing a plan resets the RNG and the counters, so a given sequence of calls always meets
    the same faults.
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._rng = random.Random(0)
        self._calls: dict[str, int] = {}
        self._commit_fail_left = 0
        self.install(plan or FaultPlan())

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def install(self, plan: FaultPlan) -> None:
        """Replace the plan and reset the RNG and counters."""
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)
            self._calls = {}
            self._commit_fail_left = plan.submit_commit_then_fail

    def before_call(self, endpoint: str) -> FaultDecision | None:
        """Decide the fault for one API call of ``endpoint``, before it has side effects."""
        with self._lock:
            plan = self._plan
            count = self._calls.get(endpoint, 0) + 1
            self._calls[endpoint] = count
            if count <= plan.fail_first.get(endpoint, 0):
                error = fault_error(plan.fail_first_status, plan.retry_after_seconds)
                return FaultDecision(kind=f"fail_first:{plan.fail_first_status}", error=error)
            if plan.endpoints and endpoint not in plan.endpoints:
                return None
            if plan.error_rate and self._rng.random() < plan.error_rate:
                status = self._rng.choice(plan.error_statuses)
                return FaultDecision(
                    kind=f"error:{status}", error=fault_error(status, plan.retry_after_seconds)
                )
            if plan.delay_ms and self._rng.random() < plan.delay_rate:
                return FaultDecision(kind=f"delay:{plan.delay_ms}ms", delay_seconds=plan.delay_ms / 1000)
        return None

    def commit_then_fail(self) -> ApiError | None:
        """Return the 503 to answer after a ``runs/submit`` committed, while the budget lasts."""
        with self._lock:
            if self._commit_fail_left <= 0:
                return None
            self._commit_fail_left -= 1
            return fault_error(503, self._plan.retry_after_seconds)

    def for_new_run(self) -> RunFault:
        """Draw the faults of one newly submitted run."""
        with self._lock:
            plan = self._plan
            broken = bool(plan.run_internal_error_rate) and self._rng.random() < plan.run_internal_error_rate
            return RunFault(pending_seconds=plan.run_pending_seconds, internal_error=broken)
