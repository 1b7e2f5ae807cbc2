"""The seed's AlertingConfig (include/dataops_jobs/config) drives the engine's channels and repeat interval."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dataops_intelligence.alerting.rules_loader import load_settings
from dataops_intelligence.alerting.seed_config import channels_from_config, merge_seed_config
from dataops_jobs.config.alerting import AlertingConfig

RULES = Path(__file__).resolve().parents[2] / "config" / "alerting_rules.yaml"


def seed(**overrides: object) -> AlertingConfig:
    doc = {
        "rate_limit_minutes": 30,
        "channels": {
            "slack": {"type": "slack_api", "conn_id": "slack_ops", "options": {"channel": "#ops"}},
            "email": {"conn_id": "smtp_ops", "options": {"to": ["oncall@example.com"], "subject_prefix": "[OPS]"}},
            "webhook": {"conn_id": "hook_ops", "options": {"secret_env": "HOOK_SECRET"}},
        },
        **overrides,
    }
    return AlertingConfig.model_validate(doc)


def test_channels_map_onto_registry_types() -> None:
    by_name = {c.name: c for c in channels_from_config(seed())}
    assert by_name["slack"].type == "slack_api"
    assert by_name["slack"].options["channel"] == "#ops"
    assert by_name["email"].options["to"] == ["oncall@example.com"]
    assert by_name["email"].options["subject_prefix"] == "[OPS]"
    assert by_name["webhook"].options == {"secret_env": "HOOK_SECRET"}
    assert "teams" not in by_name


def test_merge_overrides_rules_file_channels_and_repeat_interval() -> None:
    merged = merge_seed_config(load_settings(RULES), seed())
    assert merged is not None
    assert merged.policy.repeat_interval == timedelta(minutes=30)
    channels = {c.name: c for c in merged.channels}
    assert channels["slack"].conn_id == "slack_ops"  # from the deployment config
    assert channels["teams"].conn_id == "teams_default"  # only in the rules file: kept
    assert merged.rules  # rules come from the rules file


def test_disabled_alerting() -> None:
    assert merge_seed_config(load_settings(RULES), seed(enabled=False)) is None


def test_inline_rules_and_policy_from_deployment_config() -> None:
    alerting = seed(
        grouping={"group_by": ["workspace_id"], "group_wait_seconds": 5},
        rules=[
            {
                "name": "gold_failed",
                "kind": "job_failure",
                "severity": "critical",
                "tags": {"tier": "gold"},
                "routes": ["slack"],
            }
        ],
        silences=[
            {
                "id": "deploy",
                "matchers": ["workspace_id=ws9"],
                "starts_at": "2026-11-26T00:00:00Z",
                "ends_at": "2026-11-27T00:00:00Z",
                "created_by": "ana",
                "comment": "migration",
            }
        ],
        inhibit_rules=[
            {
                "source_matchers": ["alert_type=cluster_outage"],
                "target_matchers": ["alert_type=anomaly"],
                "equal": ["cluster_id"],
            }
        ],
    )
    base = load_settings(RULES)
    merged = merge_seed_config(base, alerting)
    assert merged is not None
    assert merged.rules[-1].name == "gold_failed"
    assert len(merged.rules) == len(base.rules) + 1
    assert merged.policy.group_by == ("workspace_id",)
    assert merged.policy.group_wait == timedelta(seconds=5)
    assert [s.silence_id for s in merged.policy.silences] == ["deploy"]
    assert len(merged.policy.inhibit_rules) == len(base.policy.inhibit_rules) + 1
    untouched = merge_seed_config(base, seed())
    assert untouched is not None
    assert untouched.policy.group_wait == base.policy.group_wait


def test_old_channel_keys_say_what_to_write_instead() -> None:
    import pytest
    from pydantic import ValidationError

    cases = {
        "recipients": ({"email": {"recipients": ["a@example.com"]}}, "write options.to"),
        "signing_secret": ({"webhook": {"signing_secret": "env:HOOK_SECRET"}}, "write options.secret_env: HOOK_SECRET"),
        "use_web_api": ({"slack": {"use_web_api": True}}, "write type: slack_api"),
    }
    for key, (channels, hint) in cases.items():
        with pytest.raises(ValidationError) as info:
            AlertingConfig.model_validate({"channels": channels})
        assert f"{key} is not a channel key any more: {hint}" in str(info.value)
    secret_url = "https://hooks.slack.com/services/T0/B0/XyZsecret"
    with pytest.raises(ValidationError) as info:
        AlertingConfig.model_validate({"channels": {"webhook": {"signing_secret": secret_url}}})
    assert "XyZsecret" not in str(info.value).split("[type=")[0]  # the message never echoes a secret


def test_disabled_channel_drops_its_routes_and_route_all_to_redirects(tmp_path: Path) -> None:
    base = load_settings(RULES)
    off = merge_seed_config(base, AlertingConfig.model_validate({"channels": {"slack": {"enabled": False}}}))
    assert off is not None
    assert "slack" not in {c.name for c in off.channels}
    assert all("slack" not in r.routes for r in off.rules)
    local = {"type": "file", "enabled": False, "options": {"path": str(tmp_path / "a.jsonl")}}
    doc = {"route_all_to": "local", "channels": {"local": local}}
    redirected = merge_seed_config(base, AlertingConfig.model_validate(doc))
    assert redirected is not None
    assert [c.name for c in redirected.channels] == ["local"]
    assert {r.routes for r in redirected.rules} == {("local",)}
