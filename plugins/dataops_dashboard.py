"""Loads the DataOps dashboard plugin from a plugins folder (``AIRFLOW__CORE__PLUGINS_FOLDER``).

The provider registers the plugin itself (entry point ``airflow.plugins``), so with the distribution
installed this file defines nothing: Airflow would otherwise see the plugin twice and report the second
as an import error. Without the entry point (the provider on ``PYTHONPATH`` only, an image that copies
the sources) it exposes the plugin class.
"""

from __future__ import annotations

from importlib.metadata import entry_points

if not entry_points(group="airflow.plugins", name="dataops_intelligence"):
    from dataops_intelligence.dashboard.plugin import DataOpsDashboardPlugin

    __all__ = ["DataOpsDashboardPlugin"]
