"""docker-compose.yaml and docker/Dockerfile: structure, and every path and command they name exists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def test_services_health_checks_and_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "airflow-init", *AIRFLOW_SERVICES}
    for name, component in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == ["airflow", component]
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert service["image"] == "dataops-intelligence-airflow:3.3.2"
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["postgres"]["restart"] == "unless-stopped"
    assert services["airflow-init"]["command"] == ["airflow", "db", "migrate"]
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"


def test_mounted_and_built_paths_exist(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["airflow-scheduler"]["volumes"]
    binds = {v.split(":")[1]: v.split(":")[0] for v in volumes if v.startswith("./")}
    assert set(binds) >= {"/opt/airflow/dags", "/opt/dataops/config", "/opt/dataops/include"}
    for host in binds.values():
        assert (REPO / host).is_dir(), host
    named = {v.split(":")[0] for v in volumes if not v.startswith("./")}
    assert named <= set(compose["volumes"])
    build = compose["services"]["airflow-scheduler"]["build"]
    assert (REPO / build["context"] / build["dockerfile"]).is_file()
    env = compose["services"]["airflow-scheduler"]["environment"]
    config = env["AIRFLOW__DATAOPS__CONFIG_PATH"].replace("/opt/dataops/config", str(REPO / "config"))
    assert Path(config).is_file()


def test_dockerfile_copies_existing_paths_and_runs_known_commands() -> None:
    text = (REPO / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+", text, re.M)
    assert "openjdk-17-jre-headless" in text
    for line in re.findall(r"^COPY .*$", text, re.M):
        sources = [p for p in line.split()[1:-1] if not p.startswith("--")]
        for source in sources:
            assert (REPO / source).exists(), source
    assert "-c requirements/constraints.txt" in text
    assert ".[spark]" in text
    assert "python -m dataops_jobs.spark_jars" in text
    import dataops_jobs.spark_jars as jars

    assert callable(jars.main)


def test_commands_exist_in_the_installed_airflow(compose: dict[str, Any]) -> None:
    airflow = shutil.which("airflow") or str(Path(__import__("sys").executable).parent / "airflow")
    assert Path(airflow).exists()
    from airflow.cli.cli_parser import get_parser

    parser = get_parser()
    for service in compose["services"].values():
        command = service.get("command")
        if command and command[0] == "airflow":
            parser.parse_args(command[1:])  # SystemExit on an unknown command
