"""Issue 13 item 5: channel configuration is validated at load and in the health check, naming the
file, the key, the connection and the variable; blocked deliveries fail the health check."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from alerting_support import CANARY, FakeClock, Receiver, channel_settings, conn_env

from dataops_intelligence.alerting.errors import AlertConfigError
from dataops_intelligence.alerting.rules_loader import load_settings
from dataops_jobs.config.models import Config

if TYPE_CHECKING:
    from pathlib import Path


def rules(tmp_path: Path, channels: dict[str, Any]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"channels": channels, "rules": []}))
    return path


def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"local": {"system_tables_path": str(tmp_path / "system"), "warehouse_path": str(tmp_path / "wh")}}
    )


def test_load_names_file_and_key_for_every_problem(tmp_path: Path) -> None:
    path = rules(
        tmp_path,
        {
            "pager": {"type": "pagerdooty", "conn_id": "p"},
            "mail": {"type": "email", "conn_id": "smtp_x", "options": {"tls": "maybe"}},
            "chat": {"type": "slack_api", "options": {"chanel": "#x"}},
        },
    )
    with pytest.raises(AlertConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()
    assert any(
        line.startswith(
            f"{path}: channels.pager.type: unknown channel type 'pagerdooty'; known: email, file, slack_api"
        )
        for line in lines
    )
    assert f"{path}: channels.mail.options.to: at least one recipient is required for type email" in lines
    assert f"{path}: channels.mail.options.tls: expected one of starttls, ssl, none, not 'maybe'" in lines
    assert any(line.startswith(f"{path}: channels.chat.options.chanel: unknown option") for line in lines)
    assert (
        f'{path}: channels.chat.options.channel: required for type slack_api (for example "#dataops-alerts")'
        in lines
    )


def _hook_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, port: int, **extra: Any) -> None:
    conn_env(
        monkeypatch,
        conn_id,
        {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", **extra},
    )


def test_health_check_fails_a_webhook_without_signing_secret(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.health_checks import check_channels

    path = rules(
        tmp_path,
        {
            "hook": {
                "type": "webhook",
                "conn_id": "hc13_hook",
                "options": {"endpoint": "/a", "secret_env": "HC13_SECRET"},
            }
        },
    )
    _hook_conn(monkeypatch, "hc13_hook", receiver.port)
    monkeypatch.delenv("HC13_SECRET", raising=False)
    (result,) = check_channels(config(tmp_path), str(path))
    assert not result.ok
    assert result.line().startswith("[FAIL] alert_channels hook (webhook): ")
    assert (
        f"{path}: channels.hook.options.secret_env: environment variable HC13_SECRET is not set"
        in result.reason
    )
    monkeypatch.setenv("HC13_SECRET", CANARY)
    (result,) = check_channels(config(tmp_path), str(path))
    assert result.ok, result.reason
    assert receiver.requests == []  # the dry-run sends nothing
    # no secret reference at all and a connection without a password: also a failure
    path = rules(
        tmp_path, {"hook": {"type": "webhook", "conn_id": "hc13_hook", "options": {"endpoint": "/a"}}}
    )
    (result,) = check_channels(config(tmp_path), str(path))
    assert not result.ok
    assert "no signing secret" in result.reason
    assert "'hc13_hook'" in result.reason


def test_health_check_names_missing_connection_bad_url_and_unknown_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.health_checks import check_channels

    path = rules(
        tmp_path,
        {
            "teams": {"type": "teams", "conn_id": "hc13_missing"},
            "chat": {"type": "slack_webhook", "conn_id": "hc13_badurl"},
            "mail": {"type": "email", "conn_id": "hc13_smtp", "options": {"to": "a@example.com"}},
        },
    )
    monkeypatch.delenv("AIRFLOW_CONN_HC13_MISSING", raising=False)
    conn_env(
        monkeypatch,
        "hc13_badurl",
        {"conn_type": "slackwebhook", "password": f"htps://hooks.example.com/{CANARY}"},
    )
    conn_env(monkeypatch, "hc13_smtp", {"conn_type": "smtp"})
    found = {r.target.split()[0]: r for r in check_channels(config(tmp_path), str(path))}
    teams, chat, mail = found["teams"], found["chat"], found["mail"]
    assert not teams.ok
    assert (
        f"{path}: channels.teams.conn_id: Airflow connection 'hc13_missing' is not defined "
        "(define it in Airflow, or as the environment variable AIRFLOW_CONN_HC13_MISSING)"
    ) in teams.reason
    assert not chat.ok
    assert "the URL of connection 'hc13_badurl' is not an http(s) URL" in chat.reason
    assert CANARY not in chat.reason
    assert not mail.ok
    assert "connection 'hc13_smtp' has no host" in mail.reason
    bad = rules(tmp_path, {"x": {"type": "nope"}})
    (loaded,) = check_channels(config(tmp_path), str(bad))
    assert not loaded.ok
    assert f"{bad}: channels.x.type: unknown channel type 'nope'" in loaded.reason


def test_blocked_deliveries_fail_the_health_check_until_delivered(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataops_intelligence.alerting.channels.registry import default_registry
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.model import AlertCandidate, Severity
    from dataops_intelligence.alerting.policy_config import PolicyConfig
    from dataops_intelligence.alerting.store import SqliteAlertStore
    from dataops_intelligence.health_checks import check_blocked_deliveries

    store = SqliteAlertStore(tmp_path / "state.sqlite")
    settings = channel_settings("hook", "webhook", "hc13_later", endpoint="/a")

    def cycle() -> None:
        channels = default_registry(load_plugins=False).build([settings], sleep=clock.sleep)
        AlertManager(
            store=store,
            channels=channels,
            policy=PolicyConfig(group_wait=0 * clock.now.resolution),
            clock=clock,
            sleep=clock.sleep,
        ).run_cycle(
            candidates=[
                AlertCandidate("r", {"job_name": "j"}, Severity.ERROR, "m", "job_failure", "1", ("hook",))
            ]
        )

    cycle()
    (result,) = check_blocked_deliveries([("notifier", store)])
    assert not result.ok
    assert result.reason.startswith("1 deliveries pending on configuration (channels hook;")
    assert "hc13_later" in result.reason
    _hook_conn(monkeypatch, "hc13_later", receiver.port, password=CANARY)
    clock.advance(60)
    cycle()
    assert len(receiver.delivered()) == 1
    (result,) = check_blocked_deliveries([("notifier", store)])
    assert result.ok
    assert json.loads(receiver.delivered()[0].body)["alerts"][0]["rule"] == "r"


def test_out_of_the_box_alerts_land_in_a_local_file_and_the_health_check_is_green(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `dataops demo` / `make airflow` do: route_all_to: local, no connection defined anywhere."""
    from dataops_intelligence.alerting.engine import AlertManager
    from dataops_intelligence.alerting.model import AlertCandidate, Severity
    from dataops_intelligence.alerting.rules_loader import load_settings as load_rules
    from dataops_intelligence.alerting.seed_config import merge_seed_config
    from dataops_intelligence.alerting.store import InMemoryAlertStore
    from dataops_intelligence.health_checks import check_channels
    from dataops_intelligence.notifiers import default_rules_path
    from dataops_jobs.config import load_config

    monkeypatch.setenv("DATAOPS_HOME", str(tmp_path))
    monkeypatch.setenv("DATAOPS_ROUTE_ALERTS_TO", "local")
    project = default_rules_path().parents[0] / "base.yaml"
    cfg = load_config(project, env="dev")
    assert cfg.alerting.route_all_to == "local"
    results = check_channels(cfg)
    assert [r.ok for r in results] == [True], [r.line() for r in results]
    settings = merge_seed_config(load_rules(default_rules_path()), cfg.alerting)
    assert settings is not None
    manager = AlertManager.from_settings(settings, InMemoryAlertStore(), clock=clock, sleep=clock.sleep)
    rule = next(r for r in settings.rules if r.name == "job_failed")
    manager.run_cycle(candidates=[AlertCandidate(rule.name, {"job_name": "etl_<x>", "workspace_id": "1"},
                                                 Severity.ERROR, "failed", "job_failure", "7", rule.routes)])
    clock.advance(60)
    report = manager.run_cycle(candidates=[AlertCandidate(rule.name, {"job_name": "etl_<x>", "workspace_id": "1"},
                                                          Severity.ERROR, "failed", "job_failure", "7", rule.routes)])
    lines = (tmp_path / "alerts" / "notifications.jsonl").read_text().splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["alerts"][0]["rule"] for d in docs] == ["health_check", "job_failed"]  # test line, then the alert
    assert docs[1]["lines"] == ["[ERROR] etl_<x>: failed"]
    assert report.failed == []
