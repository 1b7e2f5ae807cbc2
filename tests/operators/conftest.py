"""Fixtures for the operator tests: an emulator whose code_path holds a fake (printing) entry script."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Helper modules of this folder, and the alert tests' HTTP receivers (tests/alerting/alerting_support.py).
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "alerting")]

from operator_helpers import CODE_PATH, CONN_ID, FAKE_ENTRY, OAUTH_CLIENT, TOKEN

from dataops_intelligence.emulator import DatabricksEmulator
from dataops_intelligence.operators.databricks_payload import ENTRY_SCRIPT_NAME

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """The local folder behind CODE_PATH, holding the fake entry script."""
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / ENTRY_SCRIPT_NAME).write_text(FAKE_ENTRY)
    return directory


@pytest.fixture
def emulator(code_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabricksEmulator]:
    """A started emulator (PAT + one OAuth client), exposed as connection ``databricks_emu``; fast retries."""
    with DatabricksEmulator(
        token=TOKEN, oauth_clients=dict([OAUTH_CLIENT]), path_mapping={CODE_PATH: str(code_dir)}
    ) as emu:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emu.airflow_connection_json())
        monkeypatch.setenv("AIRFLOW__DATAOPS__DATABRICKS_RETRY_DELAY", "0.02")
        yield emu
