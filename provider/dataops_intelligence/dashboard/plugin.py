"""``DataOpsDashboardPlugin``: the dashboard in the Airflow 3 UI.

- ``fastapi_apps``: the app of :mod:`.app`, mounted by the api-server at ``/dataops``;
- ``external_views``: a top-level **DataOps** entry in the UI's navigation bar whose page shows
  ``/dataops/`` inside the Airflow UI (same origin, so the UI's session cookie authenticates it).

Registered by the provider (``get_provider_info()["plugins"]`` and the ``airflow.plugins`` entry
point); ``plugins/dataops_dashboard.py`` loads it from a plugins folder when the distribution's entry
point is not installed.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

PLUGIN_NAME = "dataops_intelligence"
URL_PREFIX = "/dataops"


class _DashboardApps:
    """``fastapi_apps``, built on first read: only the api-server reads it. Every task process loads
    the plugins too (for macros), and importing the app (FastAPI, Airflow's API security) there cost
    about 0.9 s per task."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, obj: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._apps is None:
            from dataops_intelligence.dashboard.app import create_app

            self._apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "DataOps Intelligence dashboard"}]
        return self._apps


class DataOpsDashboardPlugin(AirflowPlugin):
    """Fleet health, job trends, anomalies, alerts and silences, platform status: the DataOps menu."""

    name = PLUGIN_NAME
    fastapi_apps = _DashboardApps()
    external_views = [  # noqa: RUF012
        {
            "name": "DataOps",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "dataops",
            "icon": f"{URL_PREFIX}/static/icon.svg",
            "nav_top_level": True,
        }
    ]
