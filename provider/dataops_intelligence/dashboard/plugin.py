"""``DataOpsDashboardPlugin``: the dashboard in the Airflow 3 UI.

- ``fastapi_apps``: the app of :mod:`.app`, mounted by the api-server at ``/dataops``;
- ``external_views``: a top-level **DataOps** entry in the UI's navigation bar whose page shows
  ``/dataops/`` inside the Airflow UI (same origin, so the UI's session cookie authenticates it).

Registered by the provider (``get_provider_info()["plugins"]`` and the ``airflow.plugins`` entry
point); ``plugins/dataops_dashboard.py`` loads it from a plugins folder when the distribution's entry
point is not installed.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from dataops_intelligence.dashboard.app import create_app

PLUGIN_NAME = "dataops_intelligence"
URL_PREFIX = "/dataops"


class DataOpsDashboardPlugin(AirflowPlugin):
    """Fleet health, job trends, anomalies, alerts and silences, platform status: the DataOps menu."""

    name = PLUGIN_NAME
    fastapi_apps = [  # noqa: RUF012  (AirflowPlugin's class attributes)
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "DataOps Intelligence dashboard"}
    ]
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
