"""Every dashboard route goes through Airflow's auth manager (plugin apps are not protected by default).

The user comes from Airflow's own ``get_user`` dependency (``Authorization: Bearer <JWT>``, else the
UI's ``_token`` session cookie): no token is 401, a bad one 403. Permissions map onto what every auth
manager (Simple, FAB, Keycloak...) already knows, the monitoring DAG:

- reading a page or the API needs **read** access to the DAG ``dataops_monitoring`` (the dashboard
  shows what that DAG computes);
- creating or expiring a silence changes what that DAG's alert task sends, so it needs **edit**
  access to the same DAG (``PUT``). With the SimpleAuthManager: role ``viewer`` reads, ``user`` and
  above edit.

Writes also require a JSON body (``Content-Type: application/json``): a cross-site form cannot send
one without a CORS preflight, which the api-server does not grant, so the session cookie cannot be
ridden by another site.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, HTTPException, Request, status

#: The DAG whose permissions guard the dashboard.
MONITORING_DAG_ID = "dataops_monitoring"
HEALTH_CHECK_DAG_ID = "dataops_health_check"

UserDep = Annotated[BaseUser, Depends(get_user)]


def can_read_dag(user: BaseUser, dag_id: str = MONITORING_DAG_ID) -> bool:
    return bool(get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user))


def can_edit(user: BaseUser) -> bool:
    return bool(get_auth_manager().is_authorized_dag(method="PUT", details=DagDetails(id=MONITORING_DAG_ID),
                                                      user=user))


def require_read(user: UserDep) -> BaseUser:
    """Dependency: an authenticated user who may read the monitoring DAG (else 401/403)."""
    if not can_read_dag(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden: needs read access to DAG dataops_monitoring")
    return user


def require_edit(request: Request, user: UserDep) -> BaseUser:
    """Dependency: an authenticated user who may edit the monitoring DAG, sending JSON (else 401/403/415)."""
    if not can_edit(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "Forbidden: creating or expiring a silence needs edit access to DAG dataops_monitoring")
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "expected Content-Type: application/json")
    return user


def user_name(user: BaseUser) -> str:
    return str(user.get_name())


ReadUser = Annotated[BaseUser, Depends(require_read)]
EditUser = Annotated[BaseUser, Depends(require_edit)]

__all__ = ["EditUser", "ReadUser", "can_edit", "can_read_dag", "require_edit", "require_read", "user_name"]
