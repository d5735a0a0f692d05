"""The Review page: server-rendered HTML (Jinja2) inside the Airflow UI's iframe. Forms post back here and
redirect (post/redirect/get); a form submitted twice gets the domain's "already decided" answer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from nicheflow_airflow import review_forms as forms
from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.review_auth import PageUser, Reviewer
from pipelines.metadata import TITLE_MAX
from pipelines.stages.registry import BY_ID, CHECKPOINTS

log = logging.getLogger(__name__)
LIVE_POLL_MS = 3000  # how often an open Review or Operations page asks whether it changed
DONE = {
    "approved": "Approved.",
    "changes_requested": "Changes requested: the stage runs again as a new revision.",
    "rejected": "Rejected: the production ends; its files are kept.",
    "reopened": "Reopened: the checkpoint is pending again and the run waits for a new decision.",
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # an ISO time in the channel's zone (publish_at): keep the zone
        try:
            return datetime.fromisoformat(value).strftime("%a %Y-%m-%d %H:%M (UTC%z)")
        except ValueError:
            return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _clock(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 60}:{s % 60:02d}"


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(
    duration=_duration, when=_when, clock=_clock, label=lambda s: str(s or "").replace("_", " ")
)
templates.env.globals.update(STAGES=CHECKPOINTS, STAGE=BY_ID, STATUSES=ops.STATUSES, TITLE_MAX=TITLE_MAX)

router = APIRouter(include_in_schema=False)


def root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def render(request: Request, r: Reviewer | None, name: str, status_code: int = 200, **ctx):
    base = root(request)
    airflow = base.rsplit("/", 1)[0] if base else ""
    return templates.TemplateResponse(
        request, name, {"base": base, "airflow": airflow, "me": r, **ctx}, status_code=status_code
    )


def error_page(request: Request, status_code: int, detail: str):
    return render(request, None, "error.html", status_code, code=status_code, detail=detail)


@router.get("/")
def index(request: Request, r: PageUser, channel: str = "", stage: str = "", status: str = "pending"):
    if stage and stage not in CHECKPOINTS:
        raise ops.ReviewError(400, f"unknown stage {stage!r}; reviewed stages are {', '.join(CHECKPOINTS)}")
    if status != "all" and status not in ops.STATUSES:
        raise ops.ReviewError(400, f"unknown status {status!r}; use all or {', '.join(ops.STATUSES)}")
    rows = ops.list_checkpoints(r, channel or None, stage or None, None if status == "all" else status)
    filters = {"channel": channel, "stage": stage, "status": status}
    return render(
        request,
        r,
        "index.html",
        rows=rows,
        state=ops.channel_state(r),
        channels=ops.channels(r),
        filters=filters,
        # the page updates itself when this JSON changes (templates/_live.html)
        live_url=f"{root(request)}/api/checkpoints?{urlencode({k: v for k, v in filters.items() if v})}",
        poll_ms=LIVE_POLL_MS,
    )


def _checkpoint_page(request: Request, r: Reviewer, checkpoint_id: int, status_code: int = 200, **ctx):
    d = ops.detail(r, checkpoint_id)
    pid = d["production"]["id"]
    base = root(request)

    def media(path: str) -> str:
        return f"{base}/media/{pid}/{quote(path)}"

    return render(
        request,
        r,
        "checkpoint.html",
        status_code,
        d=d,
        cp=d["checkpoint"],
        view=d["view"],
        prod=d["production"],
        media=media,
        editable=d["permissions"]["decide"] and d["latest"],
        role_can_decide=r.can_decide(d["checkpoint"]["channel"]),
        **ctx,
    )


@router.get("/checkpoints/{checkpoint_id}")
def checkpoint(request: Request, r: PageUser, checkpoint_id: int, done: str = "", airflow: str = ""):
    return _checkpoint_page(
        request, r, checkpoint_id, notice=DONE.get(done), clear_failed=airflow == "failed"
    )


@router.post("/checkpoints/{checkpoint_id}/decide")
async def decide(request: Request, r: PageUser, checkpoint_id: int):
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        if form.get("checkpoint_id") != str(checkpoint_id):
            raise forms.FormError("this form belongs to another checkpoint; reload the page")
        d = await run_in_threadpool(ops.detail, r, checkpoint_id)
        decision, notes, edits = forms.decision_from_form(d["checkpoint"]["stage"], d["view"], form)
        revision = int(form["revision"]) if form.get("revision", "").isdigit() else None
        await run_in_threadpool(ops.decide, r, checkpoint_id, decision, notes, edits, revision)
    except (forms.FormError, HTTPException) as e:
        code = getattr(e, "status_code", 400)
        if code not in (400, 403, 409):
            raise
        detail = e.detail if isinstance(e, HTTPException) else str(e)
        return await run_in_threadpool(
            lambda: _checkpoint_page(
                request, r, checkpoint_id, code, error=detail, form=form if code == 400 else None
            )
        )
    return RedirectResponse(f"{root(request)}/checkpoints/{checkpoint_id}?done={decision}", status_code=303)


@router.post("/checkpoints/{checkpoint_id}/reopen")
def reopen(request: Request, r: PageUser, checkpoint_id: int):
    try:
        result = ops.reopen(r, checkpoint_id)
    except HTTPException as e:
        if e.status_code not in (400, 403, 409):
            raise
        return _checkpoint_page(request, r, checkpoint_id, e.status_code, error=e.detail)
    query = {"done": "reopened"} | ({"airflow": "failed"} if result["airflow"]["error"] else {})
    return RedirectResponse(
        f"{root(request)}/checkpoints/{checkpoint_id}?{urlencode(query)}", status_code=303
    )
