"""``dataops deploy``: build the jobs wheel from include/ and upload it with the entry script.

The submitted Databricks tasks find their code under ``compute.databricks.code_path``:
``dataops_entry.py`` (``spark_python_task``) and ``dataops_intelligence_jobs-<v>-py3-none-any.whl``
(a task library, a serverless environment dependency, or the ``python_wheel_task`` package).
``/Volumes/...`` paths go through the Files API, other paths become workspace files. Uploads overwrite,
so running deploy twice leaves the same files (idempotent); nothing else in the folder is touched.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataops_intelligence.operators.databricks_payload import (
    ENTRY_SCRIPT,
    ENTRY_SCRIPT_NAME,
    code_file,
    wheel_file_name,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

#: include/ beside provider/ in a checkout or an image.
DEFAULT_INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"


@dataclass(frozen=True)
class DeployResult:
    """What was uploaded where (path -> sha256)."""

    code_path: str
    files: dict[str, str]


def build_wheel(include_dir: Path, out_dir: Path) -> Path:
    """``pip wheel --no-deps include/`` into ``out_dir``; return the wheel's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out_dir), str(include_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the jobs wheel failed ({done.returncode}):\n{done.stderr[-3000:]}")
    wheel = out_dir / wheel_file_name()
    if not wheel.exists():
        found = sorted(p.name for p in out_dir.glob("*.whl"))
        raise RuntimeError(f"expected {wheel.name} in {out_dir}, found {found}: align JOBS_VERSION")
    return wheel


def artifacts(wheel: Path) -> dict[str, bytes]:
    """File name -> content of everything deploy uploads."""
    return {wheel.name: wheel.read_bytes(), ENTRY_SCRIPT_NAME: ENTRY_SCRIPT.encode()}


def upload(client: Any, code_path: str, files: Mapping[str, bytes]) -> DeployResult:
    """Upload ``files`` under ``code_path`` (UC volume via Files API, else workspace files)."""
    if code_path.startswith("/Volumes/"):
        client.files.create_directory(code_path)
        for name, data in files.items():
            client.files.upload(code_file(code_path, name), io.BytesIO(data), overwrite=True)
    else:
        from databricks.sdk.service.workspace import ImportFormat

        client.workspace.mkdirs(code_path)
        for name, data in files.items():
            client.workspace.upload(code_file(code_path, name), io.BytesIO(data), format=ImportFormat.AUTO,
                                    overwrite=True)
    return DeployResult(code_path, {code_file(code_path, n): hashlib.sha256(d).hexdigest()
                                    for n, d in files.items()})


def deploy(client: Any, code_path: str, include_dir: Path, work_dir: Path) -> DeployResult:
    """Build the wheel and upload it with the entry script."""
    return upload(client, code_path, artifacts(build_wheel(include_dir, work_dir)))


def workspace_client(host: str | None) -> Any:
    """A ``WorkspaceClient`` with the SDK's unified auth (``DATABRICKS_TOKEN`` or
    ``DATABRICKS_CLIENT_ID``/``DATABRICKS_CLIENT_SECRET``, or a ``.databrickscfg`` profile)."""
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=host) if host else WorkspaceClient()
