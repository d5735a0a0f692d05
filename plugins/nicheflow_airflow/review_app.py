"""The Review plugin's FastAPI app, mounted by Airflow's api-server at /review (plugins/nicheflow_review.py):

    /review/                             the Review page (checkpoints, channels' operating state)
    /review/checkpoints/{id}             one checkpoint: what the decision needs, the decision form
    /review/media/{production}/{path}    a production's files (range requests for audio and video)
    /review/analytics/{channel}          a channel's videos and their audience figures (analytics_pages)
    /review/calendar                     the content calendar across channels (analytics_pages)
    /review/attention                    productions whose task failed after its retries (attention_pages)
    /review/operations                   the operating metrics per channel, with charts (operations_pages)
    /review/metrics                      the same for Prometheus (login or the scrape token NICHEFLOW_METRICS_TOKEN)
    /review/api/...                      the REST API (schema: /review/openapi.json, docs: /review/docs)

Every route needs an Airflow login (review_auth; /metrics also takes its scrape token); pages without one redirect to Airflow's login page, API
calls get 401. Module level stays light (fastapi, pydantic, jinja2): Airflow imports this file in every
component; Airflow's security code and pipelines.* are imported when a request comes in."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import FastAPI, Path, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nicheflow_airflow import operations_pages
from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.analytics_pages import router as analytics_router
from nicheflow_airflow.attention_pages import api as attention_api
from nicheflow_airflow.attention_pages import pages as attention_pages
from nicheflow_airflow.review_api import router as api_router
from nicheflow_airflow.review_auth import AUTH_ERRORS, ApiUser, LoginRequired
from nicheflow_airflow.review_pages import error_page
from nicheflow_airflow.review_pages import router as page_router

log = logging.getLogger(__name__)

app = FastAPI(
    title="nicheflow review",
    version="1",
    description="Review and decide nicheflow's checkpoints (script, audio, broll, final). Authenticate with an "
    "Airflow token: `POST /auth/token` {username, password}, then `Authorization: Bearer <token>`. "
    "Reading needs read access to the channel's DAG `longform_<channel>`, deciding needs edit "
    "access, reopening needs the admin role. `/metrics` (Prometheus) also accepts the scrape token of "
    "`NICHEFLOW_METRICS_TOKEN`.",
)


@app.exception_handler(LoginRequired)
async def _login(request: Request, exc: LoginRequired):
    return RedirectResponse(exc.login_url, status_code=303)


def _is_page(request: Request) -> bool:
    path = request.scope["path"][len(request.scope.get("root_path", "")) :]
    return not path.startswith(("/api/", "/media/", "/openapi", "/docs", "/redoc", "/metrics"))


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException):
    if _is_page(request) and exc.status_code in (400, 403, 404, 409, 503):
        return error_page(request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)


_SEGMENT = r"(?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+)"  # a name, never `..`; no backslash
MEDIA_PATH = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
"""A path inside the workspace as the schema documents it; anything else is answered 400 (ops.media_path)."""


@app.get(
    "/media/{production_id}/{path:path}",
    tags=["review"],
    response_class=FileResponse,
    responses={
        200: {"description": "the file (supports Range requests)"},
        206: {"description": "the part of the file a Range request asked for"},
        400: {"description": "the path leaves the production's workspace"},
        **AUTH_ERRORS,
        404: {"description": "no such production or file"},
        503: {"description": "the nicheflow database or the production storage is unavailable: try again"},
    },
)
def media(
    r: ApiUser,
    production_id: int,
    path: Annotated[
        str,
        Path(
            description="relative to the workspace, e.g. final/r1/video.mp4",
            json_schema_extra={"pattern": MEDIA_PATH},
        ),
    ],
):
    """A file of a production's workspace (the `view` media paths of a checkpoint)."""
    return FileResponse(ops.media_path(r, production_id, path))


app.include_router(api_router)
app.include_router(page_router)
app.include_router(analytics_router)
app.include_router(attention_api)
app.include_router(attention_pages)
app.include_router(operations_pages.api_router)
app.include_router(operations_pages.page_router)
app.include_router(operations_pages.metrics_router)
