"""REST API of the Review plugin, under /review/api/. Token auth (a bearer token from `POST /auth/token`,
or the UI's login cookie); the schema is served at /review/openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from nicheflow_airflow import review_ops as ops
from nicheflow_airflow.review_auth import AUTH_ERRORS, ApiUser
from pipelines.stages.registry import CHECKPOINTS


def _reviewed_stage(value: str) -> str:
    if value not in CHECKPOINTS:
        raise ValueError(f"unknown stage {value!r}; reviewed stages are {', '.join(CHECKPOINTS)}")
    return value


Stage = Annotated[
    str, AfterValidator(_reviewed_stage), WithJsonSchema({"type": "string", "enum": list(CHECKPOINTS)})
]
"""A stage with a checkpoint (the stage registry's)."""
Status = Literal["pending", "approved", "changes_requested", "rejected"]

ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    503: {"description": "the nicheflow database or the production storage is unavailable: try again"},
}


def _not_blank(value: str) -> str:
    if not value.strip():  # the domain's rule (pipelines.checkpoints.decide)
        raise ValueError("say why / what to change: notes of only spaces are no notes")
    return value


NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character that is not white space as Python's str.strip() sees it (which the domain's rule uses), spelled
out: JSON Schema's `\\S` (ECMA-262) would admit U+001C-U+001F and U+0085, which strip() removes."""

NotBlank = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": NOT_BLANK})]
"""Text with at least one character that is not white space."""


class Checkpoint(BaseModel):
    """One checkpoint: a stage's revision waiting for (or having) a decision."""

    model_config = ConfigDict(extra="allow")
    id: int
    channel: str
    production_id: int
    topic: str | None = None
    stage: Stage
    revision: int
    status: Status
    created_at: datetime
    waiting_seconds: float | None = Field(None, description="since created, until decided (or now)")
    stalled: bool = Field(False, description="waiting past the channel's checkpoints.timeout_hours")
    reminders: int = 0
    reviewer: str | None = None
    decided_at: datetime | None = None
    notes: str | None = None
    edits: dict[str, Any] | None = Field(None, description="what “approve with edits” changed")


class CheckpointInDetail(Checkpoint):
    artifacts: dict[str, Any] = Field(default_factory=dict, description="paths relative to the workspace")


class Production(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the server-side workspace path is not exposed
    id: int
    channel: str
    topic: str
    status: str
    dag_run_id: str


class Revision(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    revision: int
    status: Status
    reviewer: str | None = None
    notes: str | None = None
    created_at: datetime
    decided_at: datetime | None = None


class Event(BaseModel):
    """One line of the audit log: a decision or a reopen."""

    model_config = ConfigDict(extra="allow")
    action: str
    actor: str
    notes: str | None = None
    edits: dict[str, Any] | None = None
    at: datetime


class Permissions(BaseModel):
    decide: bool = Field(description="the caller may decide this checkpoint now")
    reopen: bool = Field(description="the caller may reopen this checkpoint now (admins)")


class Publication(BaseModel):
    """Where one of the production's videos (the long-form or a Short) stands on YouTube."""

    item: str = Field(description="e.g. 00042-longform, 00042-short-1")
    kind: Literal["longform", "short"]
    state: Literal["uploading", "waiting", "uploaded", "published", "failed"] = Field(
        description="waiting: for YouTube's quota, until waiting_until; failed: message says what to do"
    )
    video_id: str | None = None
    url: str | None = None
    publish_at: datetime | None = Field(None, description="when YouTube makes it public (null: at once)")
    privacy: str
    waiting_until: datetime | None = None
    message: str | None = None
    progress_bytes: int
    size_bytes: int
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="recorded with it: duration; a Short's source window and choice (sentences, score, reasons, hook)",
    )


class CheckpointDetail(BaseModel):
    checkpoint: CheckpointInDetail
    production: Production
    publishing: list[Publication] = Field(
        default_factory=list, description="the production's videos on YouTube (empty for the outbox)"
    )
    revisions: list[Revision] = Field(description="every revision of this stage, oldest first")
    events: list[Event] = Field(default_factory=list)
    latest: bool = Field(description="this is the stage's latest revision (older ones are read-only)")
    permissions: Permissions
    media_base: str = Field(description="prefix for the view's media paths: GET <media_base><path>")
    view: dict[str, Any] = Field(
        description=(
            "what the decision needs, per stage (media paths are relative to the workspace). "
            "script: {title, writer, disclosure, review_notes, segments: [{index, heading, sentences: "
            "[{index, text, fact_ids, facts: [{id, claim, source_title, source_url, source_path}]}]}], flags}; "
            "audio: {narration, duration, voice, flags: [str], segments: [{index, heading, text, file, start, end, "
            "duration, words}]}; broll: {segments: [{index, heading, text, chosen, options: [{path, source, "
            "licence, attribution, description}]}]}; final: {video, duration, thumbnails: [path], thumbnail, "
            "title, description, tags, problems: {field: what YouTube would refuse and how to fix it}, publish_at, "
            "chapters: [{start, title}]}"
        )
    )


EDITS_DESCRIPTION = (
    "only with approved (“approve with edits”). script: {sentences: {'<segment>.<sentence>': text}}; "
    "broll: {choices: {'<segment>': option index}}; final: any of {thumbnail, title, description, tags}; "
    "audio takes none. Whether a sentence, segment, option or thumbnail exists, and whether YouTube would take "
    "a title, description or tags, depends on the checkpoint: edits that do not fit it are answered 400"
)


class Approve(BaseModel):
    """Approve, optionally with edits (the stage's output as edited is what the production continues with)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approved"]
    notes: str | None = Field(None, max_length=5000)
    edits: dict[str, Any] | None = Field(None, description=EDITS_DESCRIPTION)


class RequestChanges(BaseModel):
    """The stage runs again with the notes, as a new revision."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["changes_requested"]
    notes: NotBlank = Field(max_length=5000, description="required: what to change")
    edits: None = Field(None, description="edits go with an approval only")


class Reject(BaseModel):
    """The production ends as rejected; nothing else is affected."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["rejected"]
    notes: NotBlank = Field(max_length=5000, description="required: why")
    edits: None = Field(None, description="edits go with an approval only")


class DecisionIn(RootModel[Annotated[Approve | RequestChanges | Reject, Field(discriminator="decision")]]):
    """The reviewer is the authenticated user; it is never taken from the body. Notes are required to request
    changes or reject; edits go with an approval only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "decision": "approved",
                    "notes": None,
                    "edits": {"sentences": {"1.0": "A corrected sentence."}},
                },
                {"decision": "changes_requested", "notes": "tighten the opening", "edits": None},
            ]
        },
    )


class Cleared(BaseModel):
    dag_id: str
    dag_run_id: str
    task_ids: list[str]
    cleared: bool
    error: str | None = None


class Reopened(BaseModel):
    checkpoint: Checkpoint
    airflow: Cleared = Field(description="the Airflow tasks cleared so the run waits for a new decision")


class QuotaWait(BaseModel):
    production_id: int
    item: str
    until: datetime | None


class ChannelState(BaseModel):
    model_config = ConfigDict(extra="allow")
    channel: str
    in_flight: dict[str, int] = Field(
        description="productions waiting at each stage's checkpoint, and working"
    )
    stalled: int
    pending: int
    wait_median_s: float | None = None
    wait_longest_s: float | None = None
    published: int = 0
    rejected: int = 0
    waiting_for_quota: list[QuotaWait] = Field(
        default_factory=list, description="videos waiting for YouTube's quota, with when they try again"
    )


router = APIRouter(prefix="/api", tags=["review"], responses=ERRORS)


@router.get("/checkpoints", response_model=list[Checkpoint])
def list_checkpoints(
    r: ApiUser,
    channel: str | None = None,
    stage: Stage | None = None,
    status: Annotated[Status | Literal["all"], Query(description="`all`: every status")] = "pending",
):
    """Checkpoints of the channels the caller may read, oldest first."""
    return ops.list_checkpoints(r, channel, stage, None if status == "all" else status)


@router.get(
    "/checkpoints/{checkpoint_id}",
    response_model=CheckpointDetail,
    responses={404: {"description": "no such checkpoint, or its files are gone from the workspace"}},
)
def get_checkpoint(request: Request, r: ApiUser, checkpoint_id: int):
    """Everything a decision needs; older revisions stay retrievable by their own id."""
    d = ops.detail(r, checkpoint_id)
    return {**d, "media_base": f"{request.scope.get('root_path', '')}/media/{d['production']['id']}/"}


@router.post(
    "/checkpoints/{checkpoint_id}/decision",
    response_model=Checkpoint,
    responses={
        400: {
            "description": "edits that do not fit this checkpoint (a sentence, segment, option or thumbnail it "
            "does not have, a field its stage does not take, a final title, description or tags YouTube would "
            "refuse: each field and what to fix); nothing changed"
        },
        404: {"description": "no such checkpoint"},
        409: {"description": "already decided: nothing changed"},
    },
)
def decide(r: ApiUser, checkpoint_id: int, body: DecisionIn):
    """Approve (optionally with edits), request changes or reject. Decided once: a second decision, also
    a concurrent one, gets 409 and changes nothing."""
    d = body.root
    return ops.decide(r, checkpoint_id, d.decision, d.notes, d.edits)


@router.post(
    "/checkpoints/{checkpoint_id}/reopen",
    response_model=Reopened,
    responses={
        400: {"description": "not reopenable (an older revision, or the production is published)"},
        404: {"description": "no such checkpoint"},
        409: {"description": "already pending"},
    },
)
def reopen(r: ApiUser, checkpoint_id: int):
    """Admins: take a decision back. The checkpoint is pending again (the audit log keeps the decision) and
    the task review_<stage> with everything downstream is cleared in the production's DAG run."""
    return ops.reopen(r, checkpoint_id)


@router.get("/channels/state", response_model=list[ChannelState])
def channels_state(r: ApiUser):
    """Per channel: productions in flight by stage, stalled ones, and checkpoint waits."""
    return ops.channel_state(r)
