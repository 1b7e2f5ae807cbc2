"""Deploy builds the include/ wheel and uploads it idempotently; the reuse example DAG parses cheaply."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from dataops_intelligence import deploy
from dataops_intelligence.operators.databricks_payload import ENTRY_SCRIPT_NAME, wheel_file_name

REPO = Path(__file__).resolve().parents[2]


class _Recorder:
    """Stands in for WorkspaceClient.files / .workspace: records calls, keeps the last content."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.store: dict[str, bytes] = {}

    def create_directory(self, path: str) -> None:
        self.calls.append(("mkdir", path))

    mkdirs = create_directory

    def upload(self, path: str, content: Any, **kwargs: Any) -> None:
        assert kwargs.get("overwrite") is True
        self.calls.append(("upload", path))
        self.store[path] = content.read()


class _Client:
    def __init__(self) -> None:
        self.files = _Recorder()
        self.workspace = _Recorder()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return deploy.build_wheel(REPO / "include", tmp_path_factory.mktemp("wheel"))


def test_wheel_carries_the_jobs_and_the_console_script(wheel: Path) -> None:
    assert wheel.name == wheel_file_name()
    names = zipfile.ZipFile(wheel).namelist()
    assert "dataops_jobs/entrypoint.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "dataops-job = dataops_jobs.entrypoint:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.parametrize("code_path", ["/Volumes/main/dataops/code", "/Workspace/Shared/dataops"])
def test_upload_is_idempotent(wheel: Path, code_path: str) -> None:
    client = _Client()
    first = deploy.upload(client, code_path, deploy.artifacts(wheel))
    second = deploy.upload(client, code_path, deploy.artifacts(wheel))
    assert first == second
    assert set(first.files) == {f"{code_path}/{wheel.name}", f"{code_path}/{ENTRY_SCRIPT_NAME}"}
    used = client.files if code_path.startswith("/Volumes/") else client.workspace
    assert set(used.store) == set(first.files)
    assert b"dataops_jobs.entrypoint" in used.store[f"{code_path}/{ENTRY_SCRIPT_NAME}"]


def test_reuse_example_dag_wires_user_tasks_around_two_operators() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "example_reuse_operators.py"))
    assert bag.import_errors == {}
    dag = bag.dags["example_reuse_operators"]
    assert dag.get_task("collect_job_runs").upstream_task_ids == {"announce"}
    assert dag.get_task("report").upstream_task_ids == {"collect_job_runs", "collect_metrics"}
