"""The models on their own: defaults, SecretRef, identifiers, table helpers, immutability."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dataops_jobs.config import (
    ComputeConfig,
    Config,
    ConfigError,
    DatabricksComputeConfig,
    HealthWeights,
    JobSla,
    SecretRef,
    is_identifier,
    load_config_from_dict,
    quote_identifier,
)


def test_defaults_match_the_documented_values() -> None:
    config = Config()
    assert config.compute.target == "local"
    assert config.compute.databricks.cluster_mode == "serverless"
    assert config.storage.tables.watermarks == "_watermarks"
    assert config.storage.tables.alert_outbox == "alert_outbox"
    assert config.storage.sources.job_run_timeline == "lakeflow.job_run_timeline"
    assert config.health.weights.as_dict()["success_rate"] == pytest.approx(0.4)
    assert config.anomaly.severity_thresholds["critical"] == pytest.approx(0.95)
    assert config.schedules.tags == ["dataops", "databricks", "monitoring"]
    assert config.retention.resource_metrics == 90
    assert config.alerting.rate_limit_minutes == 15
    assert config.alerting.channels.enabled_names() == []
    assert config.logging.json_format is True


def test_default_lists_are_not_shared() -> None:
    assert Config().anomaly.resource_metrics is not Config().anomaly.resource_metrics


def test_models_are_frozen() -> None:
    config = Config()
    with pytest.raises(ValidationError):
        config.environment = "prod"


def test_output_and_source_tables() -> None:
    config = load_config_from_dict(
        {"storage": {"catalog_name": "cat", "schema_name": "mon", "tables": {"job_costs": "costs_v2"}}}
    )
    assert config.output_table("job_costs") == ("cat", "mon", "costs_v2")
    assert config.output_table("watermarks") == ("cat", "mon", "_watermarks")
    assert config.source_table("node_timeline") == ("system", "compute", "node_timeline")
    with pytest.raises(ConfigError, match="unknown output table 'nope'"):
        config.output_table("nope")
    with pytest.raises(ConfigError, match="unknown source table"):
        config.source_table("audit")


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("env:DATABRICKS_TOKEN", "env", "DATABRICKS_TOKEN"),
        ("conn:databricks_default", "conn", "databricks_default"),
        ({"env": "TOKEN"}, "env", "TOKEN"),
        ({"conn_id": "slack.alerts"}, "conn", "slack.alerts"),
    ],
)
def test_secret_ref_parses_references(text: object, kind: str, name: str) -> None:
    ref = SecretRef.parse(text)
    assert (ref.kind, ref.name) == (kind, name)
    assert str(ref) == f"{kind}:{name}"
    assert SecretRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "dapi0123456789abcdef",
        "xoxb-1-2-3",
        "https://hooks.slack.com/x",
        "env:",
        "env:NOT-VALID",
        "vault:x",
        {"token": "x"},
        42,
    ],
)
def test_secret_ref_rejects_literals_without_echoing_them(text: object) -> None:
    with pytest.raises(ConfigError) as caught:
        SecretRef.parse(text)
    if isinstance(text, str) and len(text) > 6:
        assert text not in str(caught.value)


def test_secret_ref_resolve() -> None:
    ref = SecretRef.parse("env:MY_TOKEN")
    assert ref.env_var == "MY_TOKEN"
    assert ref.conn_id is None
    assert ref.resolve({"MY_TOKEN": "s3cret"}) == "s3cret"
    assert "s3cret" not in repr(ref)
    with pytest.raises(ConfigError, match="environment variable MY_TOKEN is not set"):
        ref.resolve({})
    conn = SecretRef.parse("conn:hmac")
    assert conn.conn_id == "hmac"
    with pytest.raises(ConfigError, match="Airflow connection"):
        conn.resolve({})


def test_secret_ref_resolve_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAOPS_TEST_SECRET", "value")
    assert SecretRef.parse("env:DATAOPS_TEST_SECRET").resolve() == "value"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("job_costs", True),
        ("_w", True),
        ("a1", True),
        ("1a", False),
        ("a-b", False),
        ("a b", False),
        ("x; DROP TABLE", False),
        ("a\n", False),
        ("", False),
    ],
)
def test_identifiers(name: str, valid: bool) -> None:
    assert is_identifier(name) is valid


def test_quote_identifier() -> None:
    assert quote_identifier("job_costs") == "`job_costs`"
    with pytest.raises(ConfigError):
        quote_identifier("a`b")


def test_existing_cluster_with_id_is_valid() -> None:
    compute = DatabricksComputeConfig(cluster_mode="existing_cluster", existing_cluster_id="0101-abc")
    assert ComputeConfig(target="databricks", databricks=compute).databricks.existing_cluster_id == "0101-abc"


def test_job_sla_accepts_numeric_job_id_and_time_zone() -> None:
    sla = JobSla.model_validate({"job_id": 123, "finish_by": "06:30", "timezone": "Europe/Paris"})
    assert sla.job_id == "123"


def test_weights_may_be_zero_individually() -> None:
    assert HealthWeights(cost_drift=0).cost_drift == 0


def test_spark_conf_values_become_strings() -> None:
    config = load_config_from_dict(
        {"compute": {"spark_submit": {"conf": {"spark.dynamicAllocation.enabled": True, "spark.x": 4}}}}
    )
    assert config.compute.spark_submit.conf == {"spark.dynamicAllocation.enabled": "true", "spark.x": "4"}


def test_logging_level_is_normalised() -> None:
    assert load_config_from_dict({"logging": {"level": "debug", "json": False}}).logging.level == "DEBUG"


def test_empty_workspace_url_means_use_the_connection() -> None:
    assert load_config_from_dict({"databricks": {"workspace_url": ""}}).databricks.workspace_url is None


def test_dict_source_names_the_source() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_from_dict({"compute": {"target": "x"}}, source="--config-json")
    assert caught.value.file == "--config-json"
    assert caught.value.key == "compute.target"
