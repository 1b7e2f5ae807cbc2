"""Packaging metadata: the current SPDX ``license`` form (no setuptools deprecation banner on install)
and the non-Python files the jobs package needs at run time shipped in both distributions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
PYPROJECTS = [REPO / "pyproject.toml", REPO / "include" / "pyproject.toml"]


@pytest.mark.parametrize("path", PYPROJECTS, ids=["provider", "jobs"])
def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it(path: Path) -> None:
    data = tomllib.loads(path.read_text())
    assert data["project"]["license"] == "Apache-2.0"
    assert not any(c.startswith("License ::") for c in data["project"].get("classifiers", []))
    (setuptools,) = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)", setuptools)
    assert minimum is not None
    assert int(minimum.group(1)) >= 77  # PEP 639 license expressions


@pytest.mark.parametrize("path", PYPROJECTS, ids=["provider", "jobs"])
def test_jobs_package_data_is_shipped(path: Path) -> None:
    data = tomllib.loads(path.read_text())
    files = data["tool"]["setuptools"]["package-data"]["dataops_jobs"]
    assert "log4j2.properties" in files
    assert all((REPO / "include" / "dataops_jobs" / f).is_file() for f in files)
