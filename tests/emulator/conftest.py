"""Fixtures for the emulator tests: a running emulator and the Airflow connection pointing at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# The suite runs with --import-mode=importlib, which does not put test folders on sys.path.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_helpers import CONN_ID, OAUTH_CLIENT, TOKEN

from dataops_intelligence.emulator import DatabricksEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def emulator() -> Iterator[DatabricksEmulator]:
    """A started emulator with a PAT, one OAuth client and one extra task env var."""
    with DatabricksEmulator(
        token=TOKEN, oauth_clients=dict([OAUTH_CLIENT]), env={"EMU_MARKER": "from-emulator"}
    ) as emu:
        yield emu


@pytest.fixture
def airflow_conn(emulator: DatabricksEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Expose the emulator as Airflow connection ``databricks_emu`` through the environment."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.airflow_connection_json())
    return CONN_ID
