"""Pure parts of the emulator: fault plans, scheduling rules, error summaries, default SQL."""

from __future__ import annotations

from typing import Any

import pytest

from dataops_intelligence.emulator import FaultPlan, SqlExecutionError, default_sql_executor
from dataops_intelligence.emulator.auth import TokenAuthority
from dataops_intelligence.emulator.errors import ApiError, OAuthError
from dataops_intelligence.emulator.execution import build_command, error_summary, resolve_path
from dataops_intelligence.emulator.faults import FaultInjector
from dataops_intelligence.emulator.model import Result, TaskRun
from dataops_intelligence.emulator.scheduling import dependency_order, gate, overall_result


def test_fault_plan_round_trips_and_rejects_unknown_fields() -> None:
    plan = FaultPlan(seed=3, error_rate=0.5, fail_first={"/api/2.1/jobs/runs/submit": 2})
    assert plan.fail_first == {"jobs/runs/submit": 2}
    assert FaultPlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(ValueError, match="unknown FaultPlan field"):
        FaultPlan.from_dict({"eror_rate": 0.1})
    with pytest.raises(ValueError, match="within"):
        FaultPlan(error_rate=1.5)
    with pytest.raises(ValueError, match="status 418"):
        FaultPlan(error_statuses=(418,))


def test_fault_injector_is_deterministic_per_seed() -> None:
    def draw(seed: int) -> list[str | None]:
        injector = FaultInjector(FaultPlan(seed=seed, error_rate=0.3))
        return [(d.kind if d else None) for d in (injector.before_call("jobs/runs/get") for _ in range(50))]

    assert draw(11) == draw(11)
    kinds = draw(11)
    assert {k for k in kinds if k} <= {"error:429", "error:500", "error:503"}
    assert 5 <= sum(1 for k in kinds if k) <= 30


def test_fail_first_counts_per_endpoint_and_429_carries_retry_after() -> None:
    injector = FaultInjector(FaultPlan(fail_first={"jobs/runs/get": 2}, fail_first_status=429))
    first = injector.before_call("jobs/runs/get")
    assert first is not None
    assert first.error is not None
    assert first.error.status == 429
    assert first.error.headers == {"Retry-After": "1"}
    assert injector.before_call("jobs/runs/submit") is None
    assert injector.before_call("jobs/runs/get") is not None
    assert injector.before_call("jobs/runs/get") is None


def test_dependency_order_and_validation() -> None:
    tasks: list[dict[str, Any]] = [
        {"task_key": "c", "depends_on": [{"task_key": "a"}, {"task_key": "b"}]},
        {"task_key": "b", "depends_on": [{"task_key": "a"}]},
        {"task_key": "a"},
    ]
    assert dependency_order(tasks) == ["a", "b", "c"]
    with pytest.raises(ApiError, match="cycle"):
        dependency_order(
            [
                {"task_key": "a", "depends_on": [{"task_key": "b"}]},
                {"task_key": "b", "depends_on": [{"task_key": "a"}]},
            ]
        )
    with pytest.raises(ApiError, match="unknown task"):
        dependency_order([{"task_key": "a", "depends_on": [{"task_key": "zz"}]}])
    with pytest.raises(ApiError, match="Duplicate"):
        dependency_order([{"task_key": "a"}, {"task_key": "a"}])


@pytest.mark.parametrize(
    ("run_if", "upstream", "expected"),
    [
        ("ALL_SUCCESS", [Result.SUCCESS], None),
        ("ALL_SUCCESS", [Result.FAILED], Result.UPSTREAM_FAILED),
        ("ALL_DONE", [Result.FAILED], None),
        ("AT_LEAST_ONE_FAILED", [Result.SUCCESS], Result.EXCLUDED),
        ("AT_LEAST_ONE_FAILED", [Result.SUCCESS, Result.FAILED], None),
        ("ALL_SUCCESS", [Result.CANCELED], Result.UPSTREAM_CANCELED),
        ("NONE_FAILED", [Result.SUCCESS, Result.EXCLUDED], None),
    ],
)
def test_run_if_gate(run_if: str, upstream: list[Result], expected: Result | None) -> None:
    assert gate(run_if, upstream) == expected


def test_overall_result_success_with_failures_when_leaves_succeed() -> None:
    a = TaskRun("a", 1, {"task_key": "a"})
    b = TaskRun("b", 2, {"task_key": "b", "depends_on": [{"task_key": "a"}], "run_if": "ALL_DONE"})
    a.phase.result, b.phase.result = Result.FAILED, Result.SUCCESS
    assert overall_result([a, b]) == Result.SUCCESS_WITH_FAILURES
    b.phase.result = Result.UPSTREAM_FAILED
    assert overall_result([a, b]) == Result.FAILED


def test_error_summary_takes_last_exception_line() -> None:
    stderr = 'log line\nTraceback (most recent call last):\n  File "x.py", line 1\n    raise ValueError\nValueError: boom\n'
    assert error_summary(stderr, 1) == "ValueError: boom"
    assert error_summary("", -9) == "Process was killed by signal 9"
    assert error_summary("", 3) == "Process exited with code 3"


def test_build_command_and_path_mapping() -> None:
    mapping = {"dbfs:/jobs/": "/tmp/jobs/"}
    assert resolve_path("dbfs:/jobs/a.py", mapping) == "/tmp/jobs/a.py"
    assert resolve_path("file:/x/a.py", {}) == "/x/a.py"
    task = {
        "task_key": "t",
        "spark_python_task": {"python_file": "dbfs:/jobs/a.py", "parameters": ["--x", 1]},
    }
    assert build_command(task, "py", mapping) == ["py", "/tmp/jobs/a.py", "--x", "1"]
    wheel = {
        "task_key": "w",
        "python_wheel_task": {"package_name": "p", "entry_point": "e", "named_parameters": {"k": "v"}},
    }
    assert build_command(wheel, "py", {})[-3:] == ["p", "e", "--k=v"]
    with pytest.raises(ApiError, match="runs only"):
        build_command({"task_key": "n", "notebook_task": {"notebook_path": "/x"}}, "py", {})


def test_default_sql_executor() -> None:
    columns, rows = default_sql_executor("SELECT 1 AS one, 'x', NULL, :p", {"p": "v"})
    assert [(c.name, c.type_name) for c in columns] == [
        ("one", "INT"),
        ("x", "STRING"),
        ("NULL", "NULL"),
        (":p", "STRING"),
    ]
    assert rows == [[1, "x", None, "v"]]
    with pytest.raises(SqlExecutionError, match="EMULATOR_UNSUPPORTED_SQL"):
        default_sql_executor("SELECT * FROM system.lakeflow.jobs", {})


def test_oauth_tokens_expire_and_bad_clients_are_refused() -> None:
    now = [1000.0]
    authority = TokenAuthority("dapi-x", "me@example.com", {"cid": "secret"}, 60, clock=lambda: now[0])
    assert authority.authenticate("Bearer dapi-x").name == "me@example.com"
    issued = authority.issue_token(
        None, {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "secret"}
    )
    assert issued["expires_in"] == 60
    assert authority.authenticate(f"Bearer {issued['access_token']}").name == "cid"
    now[0] += 61
    with pytest.raises(ApiError, match="expired"):
        authority.authenticate(f"Bearer {issued['access_token']}")
    with pytest.raises(OAuthError, match="invalid_client"):
        authority.issue_token(
            None, {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "no"}
        )
    with pytest.raises(OAuthError, match="unsupported_grant_type"):
        authority.issue_token(None, {"grant_type": "password"})
    with pytest.raises(ApiError, match="UNAUTHENTICATED"):
        authority.authenticate(None)
