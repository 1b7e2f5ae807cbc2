"""Where the provider finds its monitoring config: operator argument, then ``[dataops]`` Airflow
config (``AIRFLOW__DATAOPS__CONFIG_PATH``), then ``DATAOPS_CONFIG``, then the project's config/."""

from __future__ import annotations

import os
from pathlib import Path

#: The config shipped with the project (repo checkout or image: config/ beside provider/ and dags/).
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "base.yaml"


def _airflow_conf(key: str) -> str:
    env = os.environ.get(f"AIRFLOW__DATAOPS__{key.upper()}")
    if env is not None:
        return env
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - the CLI works without Airflow configured
        return ""
    return str(conf.get("dataops", key, fallback="") or "")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The base config file to load."""
    for candidate in (explicit, _airflow_conf("config_path"), os.environ.get("DATAOPS_CONFIG")):
        if candidate:
            return Path(candidate)
    return PROJECT_CONFIG


def environment(explicit: str | None = None) -> str | None:
    """The overlay to apply, if any."""
    return explicit or _airflow_conf("environment") or os.environ.get("DATAOPS_ENV") or None


def loopback_hostname() -> str:
    """``[core] hostname_callable`` for a single-host stack that listens on loopback only (``make
    airflow``): the api-server fetches a running task's log from ``http://<hostname>:<log port>``, and
    the log servers there are bound to 127.0.0.1."""
    return "127.0.0.1"
