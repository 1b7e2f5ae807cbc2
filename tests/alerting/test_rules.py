"""Built-in rules over plain rows, and loading/validating config/alerting_rules.yaml."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alerting_support import T0

from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.model import Severity
from dataops_intelligence.alerting.rules import Rule, RuleKind, evaluate_rules
from dataops_intelligence.alerting.rules_loader import load_settings, parse_settings

CONFIG = Path(__file__).resolve().parents[2] / "config" / "alerting_rules.yaml"


def run(job: str, status: str, minutes_ago: int, **extra: object) -> dict[str, object]:
    end = T0 - timedelta(minutes=minutes_ago)
    return {
        "job_id": job,
        "job_name": job,
        "run_id": f"{job}-{minutes_ago}",
        "status": status,
        "start_time": (end - timedelta(minutes=10)).isoformat(),
        "end_time": end.isoformat(),
        "duration_minutes": 10,
        "workspace_id": "ws1",
        **extra,
    }


def test_job_failure_counts_consecutive_failures() -> None:
    rule = Rule(
        "failed", RuleKind.JOB_FAILURE, Severity.ERROR, params={"min_consecutive": 2, "critical_after": 3}
    )
    runs = [
        run("a", "SUCCESS", 50),
        run("a", "FAILED", 40),
        run("a", "FAILED", 30),
        run("a", "TIMED_OUT", 20),
        run("b", "FAILED", 40),
        run("b", "SUCCESS", 10),
        run("c", "FAILED", 5),
    ]
    (alert,) = evaluate_rules([rule], {"runs": runs}, T0)
    assert alert.labels["job_name"] == "a"
    assert alert.severity is Severity.CRITICAL
    assert "3 consecutive" in alert.message
    assert alert.alert_type == "job_failure"


def test_matchers_on_name_tags_and_workspace() -> None:
    rule = Rule(
        "gold", RuleKind.JOB_FAILURE, job_name="re:etl_.*", tags={"tier": "gold"}, workspaces=("ws1",)
    )
    runs = [
        run("etl_1", "FAILED", 1, tags={"tier": "gold"}),
        run("etl_2", "FAILED", 1, tags={"tier": "bronze"}),
        run("report", "FAILED", 1, tags={"tier": "gold"}),
        run("etl_3", "FAILED", 1, tags={"tier": "gold"}, workspace_id="ws9"),
    ]
    assert [c.labels["job_name"] for c in evaluate_rules([rule], {"runs": runs}, T0)] == ["etl_1"]
    glob = Rule("glob", RuleKind.JOB_FAILURE, job_name="etl_*")
    assert len(evaluate_rules([glob], {"runs": runs}, T0)) == 3


def test_health_threshold_and_drop() -> None:
    rule = Rule("health", RuleKind.HEALTH_SCORE, params={"threshold": 60, "drop_points": 20})
    rows = [
        {"job_id": "a", "job_name": "a", "health_score": 55.0},
        {"job_id": "b", "job_name": "b", "health_score": 70.0, "previous_score": 95.0},
        {"job_id": "c", "job_name": "c", "health_score": 80.0, "previous_score": 85.0},
    ]
    assert [c.labels["job_name"] for c in evaluate_rules([rule], {"health": rows}, T0)] == ["a", "b"]


def test_anomaly_severity_floor() -> None:
    rule = Rule("anomaly", RuleKind.ANOMALY, params={"min_severity": "error"})
    rows = [
        {"job_id": "a", "job_name": "a", "severity": "warning", "metric": "duration", "score": 3.1},
        {"job_id": "b", "job_name": "b", "severity": "critical", "metric": "memory", "score": 9.0},
    ]
    (alert,) = evaluate_rules([rule], {"anomalies": rows}, T0)
    assert alert.severity is Severity.CRITICAL
    assert alert.labels["metric"] == "memory"


def test_sla_duration_and_deadline() -> None:
    too_long = Rule("long", RuleKind.SLA_DURATION, params={"max_duration_minutes": 30})
    running = {
        "job_id": "r",
        "job_name": "r",
        "run_id": 1,
        "status": "RUNNING",
        "start_time": (T0 - timedelta(minutes=45)).isoformat(),
        "end_time": None,
    }
    assert [
        c.labels["job_name"]
        for c in evaluate_rules([too_long], {"runs": [running, run("ok", "SUCCESS", 1)]}, T0)
    ] == ["r"]
    deadline = Rule("deadline", RuleKind.SLA_DEADLINE, params={"deadline": "06:00"})
    done = run("daily_ok", "SUCCESS", 60 * 7)  # finished 05:00
    late = run("daily_late", "SUCCESS", 60)  # finished 11:00, after the deadline
    assert [c.labels["job_name"] for c in evaluate_rules([deadline], {"runs": [done, late]}, T0)] == [
        "daily_late"
    ]


def test_cost_spike_and_stale_data() -> None:
    cost = Rule("cost", RuleKind.COST_SPIKE, params={"factor": 2, "min_delta": 10})
    rows = [
        {"job_id": "a", "job_name": "a", "cost": 50.0, "baseline_cost": 20.0},
        {"job_id": "b", "job_name": "b", "cost": 3.0, "baseline_cost": 1.0},
    ]
    assert [c.labels["job_name"] for c in evaluate_rules([cost], {"costs": rows}, T0)] == ["a"]
    stale = Rule("stale", RuleKind.STALE_DATA, params={"max_age_minutes": 60, "sources": "jobs,usage"})
    fresh = [
        {"source": "system.lakeflow.jobs", "last_row_time": (T0 - timedelta(minutes=90)).isoformat()},
        {"source": "system.billing.usage", "last_row_time": (T0 - timedelta(minutes=5)).isoformat()},
    ]
    (alert,) = evaluate_rules([stale], {"freshness": fresh}, T0)
    assert alert.labels["source"] == "system.lakeflow.jobs"


def test_stale_data_ignores_a_quiet_night_and_scd_tables() -> None:
    """Simulated data that ends at midnight (runs end in the evening), cycle at 00:30: no alert."""
    stale = Rule("stale", RuleKind.STALE_DATA, params={"max_age_minutes": 180})
    evening = T0.replace(hour=20, minute=10)
    night = T0.replace(hour=0, minute=30) + timedelta(days=1)
    rows = [
        {"source": "job_run_timeline", "last_row_time": evening.isoformat()},
        {"source": "node_timeline", "last_row_time": (evening + timedelta(minutes=7)).isoformat()},
        {"source": "jobs", "last_row_time": (evening - timedelta(days=9)).isoformat()},  # SCD: rarely changes
        {"source": "usage", "last_row_time": (evening - timedelta(hours=10)).isoformat()},  # billing lags
        {"source": "analysis.health", "last_row_time": night.isoformat()},
    ]
    assert evaluate_rules([stale], {"freshness": rows}, night) == []
    # node_timeline stops while runs go on: stale
    rows[0]["last_row_time"] = (evening + timedelta(hours=4)).isoformat()
    (alert,) = evaluate_rules([stale], {"freshness": rows}, night + timedelta(hours=4))
    assert alert.labels["source"] == "node_timeline"
    # nothing at all for more than a day: one alert for all of them
    (silent,) = evaluate_rules([stale], {"freshness": rows[1:2]}, evening + timedelta(days=1, hours=1))
    assert silent.labels["source"] == "*"


def test_shipped_rules_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAOPS_ALERT_RATE_LIMIT_MINUTES", "20")
    settings = load_settings(CONFIG)
    # The weekly recommendations digest ships commented out: it needs a long repeat interval.
    assert {r.kind for r in settings.rules} == set(RuleKind) - {RuleKind.RECOMMENDATIONS_DIGEST}
    assert settings.policy.repeat_interval == timedelta(minutes=20)
    assert settings.policy.channel("slack").rate_per_second == 1.0
    assert settings.policy.channel("teams").rate_per_second == 4.0
    assert {c.type for c in settings.channels} == {"slack_webhook", "email", "teams", "webhook"}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"rules": [{"name": "x", "kind": "job_failure", "bogus": 1}]}, "rules[0].bogus"),
        ({"rules": [{"name": "x", "kind": "nope"}]}, "rules[0].kind"),
        (
            {
                "rules": [{"name": "x", "kind": "job_failure", "routes": ["pager"]}],
                "channels": {"slack": {"type": "slack_webhook"}},
            },
            "rules[0].routes[0]",
        ),
        (
            {
                "silences": [
                    {
                        "id": "s",
                        "matchers": ["job_name=~("],
                        "starts_at": "2026-01-01T00:00:00Z",
                        "ends_at": "2026-01-02T00:00:00Z",
                        "created_by": "a",
                        "comment": "c",
                    }
                ]
            },
            "silences[0].matchers",
        ),
        (
            {
                "maintenance_windows": [
                    {"name": "w", "weekdays": ["funday"], "start": "01:00", "end": "02:00"}
                ]
            },
            "maintenance_windows[0].weekdays",
        ),
    ],
)
def test_invalid_config_names_file_and_key(doc: dict[str, object], expected: str) -> None:
    with pytest.raises(AlertConfigError) as err:
        parse_settings(doc, "config/alerting_rules.yaml")
    assert str(err.value).startswith("config/alerting_rules.yaml: ")
    assert expected in str(err.value)


def test_missing_variable_names_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("policy:\n  repeat_interval_minutes: ${NOT_SET_ANYWHERE_42}\n")
    with pytest.raises(AlertConfigError, match=r"rules.yaml: environment variable NOT_SET_ANYWHERE_42"):
        load_settings(path)


def test_sla_breach_rows_become_one_alert_per_run_and_kind() -> None:
    rule = Rule("sla", RuleKind.SLA_BREACH, Severity.WARNING, job_name="etl_*", routes=("slack",))
    breach = {"job_id": "7", "job_name": "etl_daily", "workspace_id": "ws1", "run_id": "70",
              "sla_kind": "max_duration", "message": "run 70 of etl_daily is still running after 95 min"}
    rows = [
        breach,
        {**breach, "sla_kind": "finish_by", "message": "run 70 had not finished by its deadline 06:00"},
        {**breach, "job_name": "report", "run_id": "80"},  # not covered by the rule's job matcher
    ]
    duration, deadline = evaluate_rules([rule], {"sla_breaches": rows}, T0)
    assert (duration.alert_type, duration.severity) == ("sla_duration", Severity.WARNING)
    assert (deadline.alert_type, deadline.severity) == ("sla_deadline", Severity.ERROR)  # late data: error
    assert duration.message == "run 70 of etl_daily is still running after 95 min"
    assert duration.labels["run_id"] == deadline.labels["run_id"] == "70"
    assert duration.fingerprint != deadline.fingerprint
    # Seen again by the next cycle (the run is still late): the same fingerprint, so no second page.
    (again, _) = evaluate_rules([rule], {"sla_breaches": rows}, T0 + timedelta(minutes=30))
    assert again.fingerprint == duration.fingerprint
    assert duration.channels == ("slack",)
