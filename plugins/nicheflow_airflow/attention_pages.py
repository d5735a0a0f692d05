"""Needs attention in the Review UI: the productions whose task failed after its retries (pipelines.attention),
with the kind of error and what to do, and two ways out for an editor of the channel:

    /review/attention                       the list (page)
    /review/attention/{id}/retry            run the stage again: the task (and what follows it) is cleared
                                            through Airflow's REST API as the signed-in user, so the run goes on
    /review/attention/{id}/reject           end the production (a reason is required); nothing is published
    /review/api/attention[...]              the same as JSON

Reading needs read access to the channel's DAG, retrying and rejecting need edit access (as deciding does)."""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.review_api import NotBlank
from nicheflow_airflow.review_auth import AUTH_ERRORS, ApiUser, PageUser, Reviewer
from nicheflow_airflow.review_pages import render, root

pages = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api",
    tags=["needs attention"],
    responses={
        **AUTH_ERRORS,
        503: {"description": "the nicheflow database is unavailable: try again"},
    },
)


def listing(r: Reviewer) -> list[dict]:
    """The open marks of the channels `r` may see, oldest first, each with whether `r` may act on it."""
    from pipelines import attention

    with ops._db() as conn:
        marks = attention.listing(conn)
    return [asdict(a) | {"can_act": r.can_decide(a.channel)} for a in marks if r.can_read(a.channel)]


def _mark(r: Reviewer, attention_id: int):
    from pipelines import attention

    with ops._db() as conn:
        try:
            a = attention.get(conn, attention_id)
        except LookupError as e:
            raise ops.ReviewError(404, str(e)) from None
    r.require_decide(a.channel)
    if a.cleared_at is not None:
        raise ops.ReviewError(
            409, f"needs-attention mark {attention_id} is closed already ({a.cleared_because})"
        )
    return a


def retry(r: Reviewer, attention_id: int) -> dict:
    """Ask for the stage to run again and clear its task (with downstream) in Airflow as `r`."""
    from nicheflow_airflow.airflow_api import AirflowApiError, clear_task
    from pipelines import attention

    a = _mark(r, attention_id)
    try:
        cleared = clear_task(a.dag_id, a.dag_run_id, a.task_id, token=r.token)
    except AirflowApiError as e:
        raise ops.ReviewError(
            502 if not e.status else 409, f"Airflow did not clear {a.task_id}: {e}"
        ) from None
    with ops._db() as conn:
        attention.request_retry(conn, attention_id, r.name)
    return {"id": attention_id, "task_ids": cleared}


def reject(r: Reviewer, attention_id: int, reason: str) -> dict:
    """End the production: rejected, every open mark of it closed."""
    from pipelines import attention

    if not reason.strip():
        raise ops.ReviewError(400, "a reason is required to reject a production")
    a = _mark(r, attention_id)
    with ops._db() as conn:
        attention.reject(conn, attention_id, r.name, reason)
    return {"id": attention_id, "production_id": a.production_id, "status": "rejected"}


@pages.get("/attention")
def attention_page(request: Request, r: PageUser, done: str = "", error: str = ""):
    return render(request, r, "attention.html", marks=listing(r), done=done, error=error)


def _back(request: Request, **query: str) -> RedirectResponse:
    return RedirectResponse(f"{root(request)}/attention?{urlencode(query)}", status_code=303)


@pages.post("/attention/{attention_id}/retry")
def attention_retry(request: Request, r: PageUser, attention_id: int):
    try:
        result = retry(r, attention_id)
    except HTTPException as e:
        return _back(request, error=str(e.detail))
    return _back(request, done=f"Retrying: {', '.join(result['task_ids']) or 'the task'} cleared in Airflow.")


@pages.post("/attention/{attention_id}/reject")
async def attention_reject(request: Request, r: PageUser, attention_id: int):
    form = await request.form()
    reason = str(form.get("reason") or "")
    try:
        result = reject(r, attention_id, reason)
    except HTTPException as e:
        return _back(request, error=str(e.detail))
    return _back(request, done=f"Production {result['production_id']} rejected: nothing of it is published.")


class RejectBody(BaseModel):
    reason: NotBlank = Field(max_length=5000, description="why the production ends (kept with the decision)")


@api.get("/attention", summary="Productions that need attention")
def api_listing(r: ApiUser) -> list[dict]:
    """The open needs-attention marks of the channels you may read: stage, category (transient, permanent,
    data_quality), the error, what to do, tries, and whether you may retry or reject."""
    return listing(r)


@api.post(
    "/attention/{attention_id}/retry",
    summary="Run the failed stage again",
    responses={
        404: {"description": "no such mark"},
        409: {"description": "closed already, or Airflow refused"},
        502: {"description": "Airflow's REST API did not answer"},
    },
)
def api_retry(r: ApiUser, attention_id: int) -> dict:
    """Clear the failed task and what follows it in Airflow (as you), so its run goes on."""
    return retry(r, attention_id)


@api.post(
    "/attention/{attention_id}/reject",
    summary="End the production",
    responses={
        400: {"description": "the body is not JSON"},
        404: {"description": "no such mark"},
        409: {"description": "closed already"},
    },
)
def api_reject(r: ApiUser, attention_id: int, body: RejectBody) -> dict:
    """The production is rejected: nothing of it is published, its files are kept."""
    return reject(r, attention_id, body.reason)
