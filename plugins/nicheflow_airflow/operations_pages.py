"""The operating metrics in the Review UI and for Prometheus:

    /review/operations        the Operations page: the six metrics per channel and overall, with charts
                              (published per day, checkpoint waits per stage, API latency per provider); it
                              updates itself while open (templates/_live.html polls /review/api/operations)
    /review/api/operations    the same figures as JSON (pipelines.metrics.snapshot)
    /review/metrics           Prometheus' text format (metrics_export), for a scraper

Who may read: the page and its JSON need an Airflow login and show the channels the caller may read, as the
Review page does. /metrics takes the same login, or the scrape token NICHEFLOW_METRICS_TOKEN sent as
`Authorization: Bearer <token>` (compared in constant time; it shows every channel); anything else is 401."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.analytics_pages import visible_channels
from nicheflow_airflow.review_auth import AUTH_ERRORS, ApiUser, PageUser, Reviewer, authenticate
from nicheflow_airflow.review_pages import LIVE_POLL_MS, render, root

log = logging.getLogger(__name__)
TOKEN_ENV = "NICHEFLOW_METRICS_TOKEN"

api_router = APIRouter(prefix="/api", tags=["operations"])
page_router = APIRouter(include_in_schema=False)
metrics_router = APIRouter(tags=["operations"])

scrape_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="MetricsToken",
    description=f"The scrape token from the environment variable {TOKEN_ENV} of the api-server, or an Airflow "
    "JWT (`POST /auth/token`); in a browser, the Airflow UI's login cookie works instead.",
)


def _snapshot(r: Reviewer) -> dict[str, Any]:
    from pipelines import metrics

    channels = visible_channels(r)
    with ops._db() as conn:
        return metrics.snapshot(conn, channels)


@api_router.get(
    "/operations",
    responses={**AUTH_ERRORS, 503: {"description": "the nicheflow database is unavailable: try again"}},
)
def operations_json(r: ApiUser) -> dict[str, Any]:
    """The six operating metrics per channel the caller may read, then `overall`: videos published (totals and
    per UTC day), checkpoint waits per stage (median, p95, p99 in seconds; pending ones with their wait so
    far), runs and the failed share, API latency per provider (p50/p95/p99 seconds), knowledge reuse and cost
    per video (USD, priced figures only), over the last `window_days`."""
    return _snapshot(r)


def _is_scrape_token(bearer: HTTPAuthorizationCredentials | None) -> bool:
    token = os.environ.get(TOKEN_ENV, "")
    if not token or bearer is None or bearer.scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(bearer.credentials.encode(), token.encode())


async def scrape_channels(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(scrape_scheme)]
) -> list[str] | None:
    """The channels a scrape may see: all (None) with the scrape token, else those of the Airflow login."""
    if _is_scrape_token(bearer):
        return None
    try:
        r = await authenticate(request, bearer)
    except HTTPException as e:
        if e.status_code not in (401, 403):
            raise
        raise HTTPException(
            401,
            f"send the scrape token ({TOKEN_ENV}) or an Airflow token as `Authorization: Bearer ...`",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    return await run_in_threadpool(visible_channels, r)


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "the operating metrics in Prometheus' text format (version 0.0.4)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": f"neither the scrape token ({TOKEN_ENV}) nor an Airflow login"},
        503: {"description": "the nicheflow database is unavailable: try again"},
    },
)
def prometheus_metrics(channels: Annotated[list[str] | None, Depends(scrape_channels)]) -> Response:
    """Prometheus scrape endpoint: the six operating metrics, read from PostgreSQL now (see
    nicheflow_airflow.metrics_export for the names and labels). With the scrape token every channel; with an
    Airflow login the channels it may read."""
    from nicheflow_airflow.metrics_export import exposition

    try:
        body, content_type = exposition(channels)
    except Exception as e:
        import psycopg

        if not isinstance(e, psycopg.OperationalError):
            raise
        log.error("nicheflow database unavailable for /metrics: %s", e)
        raise HTTPException(503, "the nicheflow database is unavailable; try again in a moment") from None
    return Response(body, media_type=content_type)


@page_router.get("/operations")
def operations_page(request: Request, r: PageUser):
    from nicheflow_airflow.operations_views import charts

    snap = _snapshot(r)
    return render(
        request,
        r,
        "operations.html",
        snap=snap,
        charts=charts(snap),
        live_url=f"{root(request)}/api/operations",
        poll_ms=LIVE_POLL_MS,
    )
