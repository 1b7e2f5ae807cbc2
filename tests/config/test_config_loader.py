"""Good paths of the loader: overlay merge, environment selection, substitution, round trips."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from dataops_jobs.config import (
    Config,
    deep_merge,
    load_config,
    load_config_from_dict,
)

if TYPE_CHECKING:
    from pathlib import Path

BASE = """\
environment: dev
storage:
  catalog_name: base_catalog
  schema_name: base_schema
anomaly:
  resource_metrics: [cpu_utilization, memory_utilization]
logging:
  level: ${LOG_LEVEL:warning}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


def test_base_alone_uses_defaults(base: Path) -> None:
    config = load_config(base, environ={})
    assert config.environment == "dev"
    assert config.storage.catalog_name == "base_catalog"
    assert config.compute.target == "local"
    assert config.logging.level == "WARNING"
    assert config.collection.overlap_minutes == 180


def test_overlay_merges_mappings_and_replaces_lists(base: Path) -> None:
    write(
        base.parent,
        "prod.yaml",
        "storage:\n  catalog_name: prod_catalog\nanomaly:\n  resource_metrics: [network_io]\n",
    )
    config = load_config(base, "prod", environ={})
    assert config.environment == "prod"
    assert config.storage.catalog_name == "prod_catalog"
    assert config.storage.schema_name == "base_schema"
    assert config.anomaly.resource_metrics == ["network_io"]


def test_env_var_selects_overlay(base: Path) -> None:
    write(base.parent, "staging.yaml", "compute:\n  target: spark_submit\n")
    config = load_config(base, environ={"DATAOPS_ENV": "staging"})
    assert config.environment == "staging"
    assert config.compute.target == "spark_submit"


def test_argument_wins_over_env_var(base: Path) -> None:
    write(base.parent, "staging.yaml", "compute:\n  target: spark_submit\n")
    write(base.parent, "test.yaml", "compute:\n  target: databricks\n")
    config = load_config(base, "test", environ={"DATAOPS_ENV": "staging"})
    assert config.compute.target == "databricks"


def test_overlay_named_by_base_file_is_optional(base: Path) -> None:
    assert load_config(base, environ={}).environment == "dev"


def test_overlay_named_by_base_file_is_used_when_present(base: Path) -> None:
    write(base.parent, "dev.yaml", "local:\n  shuffle_partitions: 1\n")
    assert load_config(base, environ={}).local.shuffle_partitions == 1


def test_substitution_with_default_embedded_and_escaped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "base.yaml",
        "local:\n"
        "  warehouse_path: ${DATAOPS_HOME:.dataops}/warehouse\n"
        "  system_tables_path: /data/${USER_DIR}/tables\n"
        "  spark_master: local[$${N}]\n"
        "collection:\n  lookback_days: ${LOOKBACK:7}\n",
    )
    config = load_config(path, environ={"USER_DIR": "alice"})
    assert config.local.warehouse_path == ".dataops/warehouse"
    assert config.local.system_tables_path == "/data/alice/tables"
    assert config.local.spark_master == "local[${N}]"
    assert config.collection.lookback_days == 7


def test_environment_value_overrides_default(tmp_path: Path) -> None:
    path = write(tmp_path, "base.yaml", "local:\n  warehouse_path: ${DATAOPS_HOME:.dataops}/warehouse\n")
    config = load_config(path, environ={"DATAOPS_HOME": "/srv/dataops"})
    assert config.local.warehouse_path == "/srv/dataops/warehouse"


def test_overlay_can_replace_a_base_value_whose_variable_is_unset(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "databricks:\n  workspace_url: ${DATABRICKS_HOST}\n")
    write(tmp_path, "dev.yaml", "databricks:\n  workspace_url: http://127.0.0.1:8080\n")
    config = load_config(base, "dev", environ={})
    assert config.databricks.workspace_url == "http://127.0.0.1:8080"


def test_secret_reference_is_never_printed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "base.yaml",
        "databricks:\n  access_token: env:DATABRICKS_TOKEN\n"
        "alerting:\n  channels:\n    webhook:\n      options: {secret_conn_id: hmac_secret}\n",
    )
    secret = "dapi0123456789abcdef"
    config = load_config(path, environ={"DATABRICKS_TOKEN": secret})
    token = config.databricks.access_token
    assert token is not None
    assert token.resolve({"DATABRICKS_TOKEN": secret}) == secret
    for text in (str(token), repr(token), repr(config), str(config), config.to_json()):
        assert secret not in text
    assert str(token) == "env:DATABRICKS_TOKEN"
    assert json.loads(config.to_json())["databricks"]["access_token"] == "env:DATABRICKS_TOKEN"
    signing = config.alerting.channels.get("webhook")
    assert signing is not None
    assert signing.options["secret_conn_id"] == "hmac_secret"


def test_json_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, "base.yaml", BASE + "local:\n  spark_master: local[$${N}]\n")
    config = load_config(path, environ={})
    again = load_config_from_dict(json.loads(config.to_json()), source="job argument")
    assert again == config
    assert again.local.spark_master == "local[${N}]"


def test_load_from_dict_substitutes_only_on_request() -> None:
    data = {"local": {"warehouse_path": "${HOME_DIR:fallback}/wh"}}
    assert load_config_from_dict(data).local.warehouse_path == "${HOME_DIR:fallback}/wh"
    config = load_config_from_dict(data, substitute_env=True, environ={"HOME_DIR": "/srv"})
    assert config.local.warehouse_path == "/srv/wh"


def test_deep_merge_reports_replaced_paths() -> None:
    merged, replaced = deep_merge({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 3})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 3}
    assert replaced == [("a", "c"), ("e",)]


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "base.yaml", ""), environ={})
    assert config == Config()


def test_yaml_merge_keys_are_supported(tmp_path: Path) -> None:
    text = (
        "alerting:\n  channels:\n"
        "    slack: &slack\n      conn_id: slack_a\n      type: slack_api\n      options: {channel: '#a'}\n"
        "    teams:\n      conn_id: teams_a\n"
        "sla:\n  jobs:\n    - &sla {job_name: etl, max_duration_minutes: 30}\n"
        "    - {<<: *sla, job_name: etl_2}\n"
    )
    config = load_config(write(tmp_path, "base.yaml", text), environ={})
    assert config.alerting.channels.enabled_names() == ["slack", "teams"]
    assert [job.job_name for job in config.sla.jobs] == ["etl", "etl_2"]
    assert config.sla.jobs[1].max_duration_minutes == 30
