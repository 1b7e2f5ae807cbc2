"""Helpers shared by the emulator tests (a uniquely named module: ``conftest`` is not importable safely)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

TOKEN = "dapi-emulator-test-token-0123456789"
OAUTH_CLIENT = ("sp-client-id", "sp-client-secret-xyz")
CONN_ID = "databricks_emu"


def write_script(directory: Path, name: str, code: str) -> str:
    """Write a task script and return its path."""
    path = directory / name
    path.write_text(code)
    return str(path)


def wait_for(probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (containers may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
