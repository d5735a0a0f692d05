"""Who may do what on the Review page and API.

Identity is Airflow's own: the UI's JWT cookie `_token` or a bearer token from `POST /auth/token`, checked by
Airflow's `get_user` (the function behind `GetUserDep`). Roles come from the configured auth manager, never
from user names:

    read    is_authorized_dag(method="GET", DAG longform_<channel>, entity HITL_DETAIL, or RUN if absent; in
            multi-team mode with the DAG's team, as Airflow's own routes pass it)
    decide  the same with method="PUT"
    reopen  SimpleAuthManager: role "admin"; any other auth manager: the custom view "nicheflow_reopen" with
            method="PUT" (and decide on the channel, which clearing the Airflow tasks needs anyway)

A POST made with the login cookie must carry the session's CSRF token (nicheflow_airflow.csrf): pages and API
check it in the same dependency; bearer-token requests cannot be forged by another site and are not checked.

Airflow's security module is imported on first use, not at import time: Airflow imports every .py file of the
plugins folder in every component (each task run too), and only the api-server ever serves a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)

REOPEN_RESOURCE = "nicheflow_reopen"
COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="AirflowToken",
    description="An Airflow JWT: `POST /auth/token` with {username, password} returns one. In a browser, the "
    "Airflow UI's login cookie works instead.",
)


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no login: send `Authorization: Bearer <token from POST /auth/token>`"},
    403: {"description": "the caller's role does not allow this (or the token is invalid)"},
}
"""What every route behind ApiUser may answer before it runs: listed in each one's OpenAPI responses."""


class Forbidden(HTTPException):
    def __init__(self, detail: str):
        super().__init__(status_code=403, detail=detail)


class LoginRequired(Exception):
    """A page was requested without a valid login: the app answers with a redirect to Airflow's login."""

    def __init__(self, login_url: str):
        super().__init__(login_url)
        self.login_url = login_url


def dag_id(channel: str) -> str:
    return f"longform_{channel}"


def team_of(dag: str) -> str | None:
    """The team owning the DAG in Airflow's multi-team mode (`[core] multi_team`: DAG bundles belong to teams,
    users to teams), as Airflow's own routes ask it; None otherwise. Without it the auth manager would not
    check the team, and a reviewer of one team could decide another team's channels."""
    from airflow.configuration import conf

    if not conf.getboolean("core", "multi_team", fallback=False):
        return None
    from airflow.models.dag import DagModel

    return DagModel.get_team_name(dag)


@dataclass
class Reviewer:
    """The authenticated caller, with role checks answered by the auth manager (cached per request)."""

    user: Any  # airflow.api_fastapi.auth.managers.models.base_user.BaseUser
    token: str | None = None
    via_cookie: bool = False  # signed in with the UI's login cookie (a browser), not a bearer token
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.user.get_name()

    @property
    def csrf_token(self) -> str:
        """The token this session's forms carry (nicheflow_airflow.csrf); empty without a login cookie."""
        from nicheflow_airflow import csrf

        return csrf.token_for(self.token) if self.via_cookie and self.token else ""

    def _dag(self, method: Literal["GET", "PUT"], channel: str) -> bool:  # an Airflow ResourceMethod
        key = (method, channel)
        if key not in self._cache:
            from airflow.api_fastapi.app import get_auth_manager
            from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

            entity = getattr(DagAccessEntity, "HITL_DETAIL", DagAccessEntity.RUN)
            self._cache[key] = bool(
                get_auth_manager().is_authorized_dag(
                    method=method,
                    user=self.user,
                    access_entity=entity,
                    details=DagDetails(id=dag_id(channel), team_name=team_of(dag_id(channel))),
                )
            )
        return self._cache[key]

    def can_read(self, channel: str) -> bool:
        return self._dag("GET", channel)

    def can_decide(self, channel: str) -> bool:
        return self._dag("PUT", channel)

    @property
    def is_admin(self) -> bool:
        if "admin" not in self._cache:
            from airflow.api_fastapi.app import get_auth_manager
            from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

            am = get_auth_manager()
            if isinstance(am, SimpleAuthManager):
                # SimpleAuthManager lets every role see every custom view, so its role decides
                self._cache["admin"] = str(getattr(self.user, "role", "") or "").lower() == "admin"
            else:
                self._cache["admin"] = bool(
                    am.is_authorized_custom_view(method="PUT", resource_name=REOPEN_RESOURCE, user=self.user)
                )
        return self._cache["admin"]

    def can_reopen(self, channel: str) -> bool:
        return self.is_admin and self.can_decide(channel)

    def require_read(self, channel: str) -> None:
        if not self.can_read(channel):
            raise Forbidden(
                f"{self.name} may not view channel {channel}: it needs read access to the DAG "
                f"{dag_id(channel)}"
            )

    def require_decide(self, channel: str) -> None:
        self.require_read(channel)
        if not self.can_decide(channel):
            raise Forbidden(
                f"{self.name} may view but not decide checkpoints of channel {channel}: deciding "
                f"needs edit access to the DAG {dag_id(channel)} (the Airflow role 'user' or higher)"
            )

    def require_reopen(self, channel: str) -> None:
        self.require_read(channel)
        if not self.can_reopen(channel):
            raise Forbidden(f"only an admin may reopen a decided checkpoint; {self.name} is not one")


async def _authenticate(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Reviewer:
    from airflow.api_fastapi.core_api.security import get_user

    user = await get_user(request, None, bearer)  # 401 without/expired token, 403 for an invalid one
    if bearer and bearer.scheme.lower() == "bearer":
        return Reviewer(user=user, token=bearer.credentials)
    return Reviewer(user=user, token=request.cookies.get(COOKIE), via_cookie=True)


async def _check_csrf(request: Request, r: Reviewer, *, page: bool) -> None:
    """Refuse (403) a request that changes something, made with the login cookie, without the session's CSRF
    token in the `X-CSRF-Token` header or (a form) the `csrf_token` field. Bearer-token requests pass."""
    from nicheflow_airflow import csrf

    if request.method in csrf.SAFE_METHODS or not r.via_cookie:
        return
    sent: object = request.headers.get(csrf.HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(csrf.FIELD)  # Starlette keeps the parsed form for the route
    if not csrf.valid(r.token, sent):
        log.warning(
            "refused a %s %s by %s without a valid CSRF token", request.method, request.url.path, r.name
        )
        raise Forbidden(csrf.REFUSED if page else csrf.REFUSED_API)


async def authenticate(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Reviewer:
    """The caller of a request from its bearer token or login cookie; HTTPException 401/403 without a valid
    one (for routes with their own scheme, such as /metrics)."""
    return await _authenticate(request, bearer)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def api_reviewer(request: Request, bearer: Bearer) -> Reviewer:
    r = await _authenticate(request, bearer)
    await _check_csrf(request, r, page=False)
    return r


async def page_reviewer(request: Request, bearer: Bearer) -> Reviewer:
    try:
        r = await _authenticate(request, bearer)
    except HTTPException as e:
        if e.status_code not in (401, 403):
            raise
        from airflow.api_fastapi.app import get_auth_manager

        url = request.url
        if request.method != "GET":  # after logging in, come back to the page the form was on
            url = url.replace(path=url.path.rsplit("/", 1)[0], query="")
        raise LoginRequired(get_auth_manager().get_url_login(next_url=str(url))) from None
    await _check_csrf(request, r, page=True)
    return r


ApiUser = Annotated[Reviewer, Depends(api_reviewer)]
PageUser = Annotated[Reviewer, Depends(page_reviewer)]
