"""The project's own config/ files: base alone and base + every overlay validate."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from dataops_jobs.config import Config, ConfigError, load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
BASE = CONFIG_DIR / "base.yaml"
PROD_ENVIRON = {"DATABRICKS_HOST": "https://adb-123.4.azuredatabricks.net"}


def test_base_alone_is_the_local_default() -> None:
    config = load_config(BASE, environ={})
    assert config.environment == "dev"
    assert config.compute.target == "local"
    assert config.local.warehouse_path == ".dataops/warehouse"
    assert config.local.system_tables_path == ".dataops/system_tables"


def test_base_values_equal_model_defaults() -> None:
    config = load_config(BASE, "dev", environ={})
    defaults = Config()
    for section in ("storage", "compute", "collection", "health", "anomaly", "schedules", "retention"):
        assert getattr(config, section) == getattr(defaults, section), section


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_overlay_validates(env: str) -> None:
    config = load_config(BASE, env, environ=PROD_ENVIRON)
    assert config.environment == env


def test_prod_targets_databricks_with_references_only() -> None:
    config = load_config(BASE, "prod", environ=PROD_ENVIRON)
    assert config.compute.target == "databricks"
    assert config.databricks.workspace_url == PROD_ENVIRON["DATABRICKS_HOST"]
    assert str(config.databricks.access_token) == "env:DATABRICKS_TOKEN"
    assert config.alerting.channels.enabled_names() == ["slack", "email"]


def test_prod_needs_databricks_host() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(BASE, "prod", environ={})
    assert caught.value.file == str(CONFIG_DIR / "prod.yaml")
    assert caught.value.key == "databricks.workspace_url"
    assert "DATABRICKS_HOST" in caught.value.expected


def test_dataops_home_moves_local_paths() -> None:
    config = load_config(BASE, environ={"DATAOPS_HOME": "/srv/dataops"})
    assert config.local.warehouse_path == "/srv/dataops/warehouse"


def test_config_package_imports_no_heavy_modules() -> None:
    package = Path(__file__).resolve().parents[2] / "include" / "dataops_jobs" / "config"
    allowed_roots = {"__future__", "dataops_jobs", "pydantic", "pydantic_core", "yaml"}
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert root in allowed_roots or root in sys.stdlib_module_names, f"{module.name}: {name}"
