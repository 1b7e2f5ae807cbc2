"""docker-compose.yaml and docker/Dockerfile: structure, every path and command they name exists, the
paths the provider resolves inside the containers land on the mounted config and the volumes, and the
init step (docker/init.sh) run outside Docker creates what the stack needs. No Docker engine here:
the image itself is not built."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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
    assert services["airflow-init"]["command"] == ["bash", "/opt/dataops/init.sh"]
    assert services["airflow-init"]["restart"] == "no"
    assert services["airflow-init"]["environment"]["DATAOPS_SIMULATE"] == "${DATAOPS_SIMULATE:-1}"
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


def _container_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (bind mounts) or ``volume:<name>`` (named volumes)."""
    mounts = {}
    for spec in service["volumes"]:
        source, target = spec.split(":")[:2]
        mounts[target] = str(REPO / source) if source.startswith("./") else f"volume:{source}"
    return mounts


def _on_host(path: str, mounts: dict[str, str]) -> str | None:
    """The host file behind a container path on a bind mount (None when it is not on one)."""
    for target, source in mounts.items():
        if path.startswith(target + "/") and not source.startswith("volume:"):
            return source + path[len(target):]
    return None


def _in_volume(path: str, mounts: dict[str, str]) -> bool:
    return any(path.startswith(t + "/") and s.startswith("volume:") for t, s in mounts.items())


@pytest.mark.parametrize("name", ["airflow-init", *AIRFLOW_SERVICES])
def test_config_rules_and_data_paths_resolve_to_mounts_and_volumes(
        compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the provider resolves with the service's environment: the config and the alert rules
    on the mounted config/ (not the installed package), the tables, alert state and admin password
    in named volumes that outlive the containers."""
    from dataops_intelligence.notifiers import default_rules_path
    from dataops_intelligence.settings import config_path
    from dataops_jobs.config import load_config

    service = compose["services"][name]
    env, mounts = service["environment"], _container_mounts(service)
    config_file = _on_host(env["AIRFLOW__DATAOPS__CONFIG_PATH"], mounts)
    rules_file = _on_host(env["AIRFLOW__DATAOPS__ALERTING_RULES"], mounts)
    assert config_file is not None
    assert rules_file is not None
    assert Path(config_file).is_file()
    assert Path(rules_file).is_file()
    for key in ("AIRFLOW__DATAOPS__CONFIG_PATH", "AIRFLOW__DATAOPS__ALERTING_RULES", "DATAOPS_HOME"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("DATAOPS_ALERTING_RULES", raising=False)
    monkeypatch.delenv("DATAOPS_CONFIG", raising=False)
    assert str(config_path()) == env["AIRFLOW__DATAOPS__CONFIG_PATH"]
    assert str(default_rules_path()) == env["AIRFLOW__DATAOPS__ALERTING_RULES"]

    config = load_config(Path(config_file))  # the mounted file, with the container's DATAOPS_HOME
    for path in (config.local.system_tables_path, config.local.warehouse_path, env["DATAOPS_ALERT_STATE_PATH"],
                 env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]):
        assert _in_volume(str(path), mounts), f"{path} is not in a named volume of {name}"
    assert set(v for v in mounts.values() if v.startswith("volume:")) <= {f"volume:{v}" for v in compose["volumes"]}
    include = _on_host(env["PYTHONPATH"] + "/dataops_jobs/log4j2.properties", mounts)
    assert include is not None
    assert Path(include).is_file()


def test_rules_beside_the_config_win_over_the_installed_package(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an explicit rules path, an installed provider reads ``alerting_rules.yaml`` beside the
    config in use rather than a file inside site-packages."""
    from dataops_intelligence.notifiers import default_rules_path

    for key in ("AIRFLOW__DATAOPS__ALERTING_RULES", "DATAOPS_ALERTING_RULES", "AIRFLOW__DATAOPS__CONFIG_PATH"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "base.yaml").write_text("environment: x\n")
    monkeypatch.setenv("DATAOPS_CONFIG", str(tmp_path / "base.yaml"))
    assert default_rules_path() == REPO / "config" / "alerting_rules.yaml"  # none beside it: the project's
    (tmp_path / "alerting_rules.yaml").write_text("rules: []\n")
    assert default_rules_path() == tmp_path / "alerting_rules.yaml"


def test_image_is_arch_neutral_installs_once_and_ships_the_init_step() -> None:
    text = (REPO / "docker" / "Dockerfile").read_text()
    instructions = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "amd64" not in instructions
    assert "arm64" not in instructions
    assert re.search(r"^ENV JAVA_HOME=/usr/lib/jvm/java-17\b", text, re.M)
    installs = re.findall(r"pip install [^\n&]*", text)
    assert len(installs) == 1, installs
    assert "./include" not in installs[0]
    assert "COPY --chown=airflow:root docker/init.sh /opt/dataops/init.sh" in text
    assert "/opt/airflow/dataops" in text  # volume mount points, created owned by airflow
    assert "/opt/airflow/auth" in text


def test_dockerignore_keeps_the_venv_and_local_data_out_of_the_context() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", ".dataops"} <= ignored
    copied = re.findall(r"^COPY \S+ (\S+)", (REPO / "docker" / "Dockerfile").read_text(), re.M)
    assert copied
    assert not {c.rstrip("/") for c in copied} & ignored


def _init_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATAOPS"))},
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "auth" / "passwords.json"),
        "AIRFLOW__DATAOPS__CONFIG_PATH": str(REPO / "config" / "base.yaml"),
        "AIRFLOW__DATAOPS__ALERTING_RULES": str(REPO / "config" / "alerting_rules.yaml"),
        "DATAOPS_HOME": str(tmp_path / "dataops"),
        **extra,
    }


def _init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO / "docker" / "init.sh")], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def test_init_step_refuses_a_missing_rules_file(tmp_path: Path) -> None:
    result = _init(_init_env(tmp_path, AIRFLOW__DATAOPS__ALERTING_RULES=str(tmp_path / "nope.yaml")))
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.yaml'} does not exist" in result.stderr


@pytest.mark.slow
def test_init_step_outside_docker_migrates_and_simulates_once(tmp_path: Path) -> None:
    """docker/init.sh with the compose environment pointed at a temporary home: the metadata DB is
    migrated, the demo workspace lands where the mounted config reads system tables, and a second
    start changes nothing."""
    env = _init_env(tmp_path, DATAOPS_SIMULATE="1", DATAOPS_SIMULATE_JOBS="2", DATAOPS_SIMULATE_DAYS="1")
    first = _init(env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "airflow.db").is_file()
    assert (tmp_path / "dataops" / "system_tables" / "lakeflow" / "job_run_timeline" / "_delta_log").is_dir()
    assert (tmp_path / "auth").is_dir()
    assert "simulating a demo workspace (2 jobs, 1 days)" in first.stdout
    marker = (tmp_path / "dataops" / ".simulated").read_text()

    second = _init(env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already simulated" in second.stdout
    assert "simulating" not in second.stdout
    assert (tmp_path / "dataops" / ".simulated").read_text() == marker
