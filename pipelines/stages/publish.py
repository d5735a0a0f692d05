"""Task `publish`: scheduled publish (offline default: the channel's outbox) with full metadata."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines.artifacts import (
    AudioOutput,
    BrollOutput,
    FinalOutput,
    Listing,
    Render,
    ScriptOutput,
    StoredScript,
    VisualItem,
)
from pipelines.metadata import fit_description, fit_tags, fit_title
from pipelines.production import Production, production_db
from pipelines.providers.publish.base import Publisher
from pipelines.providers.publish.outbox import OutboxPublisher

_LABELS = {
    "en": {
        "chapters": "Chapters",
        "sources": "Sources",
        "made": "How this video was made",
        "voice": "Narration: {voice}.",
        "visuals": "Visuals: {visuals}.",
    },
    "pt-BR": {
        "chapters": "Capítulos",
        "sources": "Fontes",
        "made": "Como este vídeo foi feito",
        "voice": "Narração: {voice}.",
        "visuals": "Imagens: {visuals}.",
    },
}


def publisher_for(p: Production) -> Publisher:
    """Where the channel's videos go: its local outbox (the offline default)."""
    return OutboxPublisher(p.channel)


def next_slot(tz: str, at: time, taken: set[datetime], after: datetime | None = None) -> datetime:
    """The first day's `at` (channel time zone) after `after` that no other item already uses."""
    zone = ZoneInfo(tz)
    after = (after or datetime.now(zone)).astimezone(zone)
    slot = datetime.combine(after.date(), at, zone)
    while slot <= after or slot in taken:
        slot = datetime.combine(slot.date() + timedelta(days=1), at, zone)
    return slot


def timestamp(seconds: float) -> str:
    """A chapter timestamp as YouTube reads it: m:ss, or h:mm:ss from an hour on."""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def how_made(script: StoredScript, voice: str, visuals: list[VisualItem]) -> str:
    """The disclosure every description carries: what wrote, voiced and illustrated the video."""
    lab = _LABELS[script.language]
    licences = sorted({f"{v.source} ({v.licence})" for v in visuals})
    return "\n".join(
        [
            f"{lab['made']}:",
            script.disclosure,
            lab["voice"].format(voice=voice),
            lab["visuals"].format(visuals="; ".join(licences)),
            *credits(visuals),
        ]
    )


def credits(visuals: list[VisualItem]) -> list[str]:
    """One "B-roll: <author> / <source> <page>" line per stock or library visual used (generated ones are
    covered by the Visuals line)."""
    lines = [
        f"B-roll: {v.attribution}" + (f" {v.url}" if v.url else "")
        for v in visuals
        if v.source != "generated"
    ]
    return list(dict.fromkeys(lines))


def description(script: StoredScript, render: Render, voice: str, visuals: list[VisualItem]) -> str:
    """The proposed description: the script's opening, chapters, sources and how the video was made (kept
    whole: only the part before it is cut to YouTube's limit, see metadata.fit_description)."""
    lab = _LABELS[script.language]
    opening = script.description or script.segments[0].sentences[0].text
    lines = [opening, "", f"{lab['chapters']}:"]
    lines += [f"{timestamp(c.start)} {c.title}" for c in render.chapters]
    lines += ["", f"{lab['sources']}:"]
    lines += [f"- {s.title}" + (f": {s.url}" if s.url else "") for s in script.sources]
    return fit_description("\n".join(lines), keep=how_made(script, voice, visuals))


def draft(
    p: Production, script: StoredScript, render: Render, voice: str, visuals: list[VisualItem]
) -> Listing:
    """Title, description, tags and thumbnail as nicheflow proposes them, each one YouTube takes; the final
    review can edit each."""
    tags = fit_tags([*p.cfg.publish.tags, *script.tags])[:15]
    return Listing(
        title=fit_title(script.title, default=p.topic),
        description=description(script, render, voice, visuals),
        tags=tags,
        thumbnail=render.thumbnail,
    )


def publish_longform(
    p: Production, script_rel: str, audio: AudioOutput, broll: BrollOutput, final: FinalOutput
) -> dict:
    """Publish the video, its chosen thumbnail and captions at the channel's next free slot, with the
    reviewed listing (which always keeps the how-made disclosure); returns the publisher's receipt."""
    cfg = p.cfg
    script = StoredScript.load(p.abs(script_rel))
    render = final.load_render(p)
    visuals = broll.load_visuals(p).visuals
    outbox = publisher_for(p)
    # the reviewer's edits from the final checkpoint win
    chosen = draft(p, script, render, audio.voice, visuals).edited(final.overrides)
    disclosure = how_made(script, audio.voice, visuals)
    # an edited description keeps saying how the video was made
    chosen.description = fit_description(chosen.description, keep=disclosure)
    metadata = {
        "kind": "longform",
        "channel": p.channel,
        "production_id": p.id,
        "dag_run_id": p.dag_run_id,
        "title": fit_title(chosen.title, default=script.title),
        "description": chosen.description,
        "tags": chosen.tags,
        "category_id": cfg.publish.category_id,
        "language": cfg.language,
        "privacy": cfg.publish.privacy,
        "made_for_kids": cfg.publish.made_for_kids,
        "contains_synthetic_media": True,
        "duration": final.duration,
        "publish_at": next_slot(cfg.timezone, cfg.publish.time, outbox.taken_slots()).isoformat(),
    }
    return outbox.publish(
        f"{p.id:05d}-longform",
        {
            "video.mp4": p.abs(final.video),
            "thumbnail.jpg": p.abs(final.thumbnails[chosen.thumbnail]),
            "captions.srt": p.abs(final.captions),
        },
        metadata,
    )


def run(production_id: int) -> dict:
    """Publish the approved long-form video with the final review's metadata."""
    with production_db(production_id) as (conn, p):
        script, audio = ScriptOutput.approved(conn, p.id), AudioOutput.approved(conn, p.id)
        broll, final = BrollOutput.approved(conn, p.id), FinalOutput.approved(conn, p.id)
    return publish_longform(p, script.script, audio, broll, final)
