"""Task `publish`: scheduled publish (offline default: the channel's outbox) with full metadata."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines import clock, costs, quota
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
from pipelines.db import Conn
from pipelines.errors import WaitUntil
from pipelines.metadata import fit_description, fit_tags, fit_title
from pipelines.production import Production, production_db
from pipelines.providers.publish import youtube
from pipelines.providers.publish.base import PublishItem
from pipelines.providers.publish.outbox import OutboxPublisher
from pipelines.providers.publish.youtube import QuotaExhausted
from pipelines.quota import Ledger
from pipelines.uploads import UploadRows

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


def youtube_publisher(p: Production, store: UploadRows, ledger: Ledger) -> youtube.YouTubePublisher:
    """The channel's YouTube publisher, with its token and its project's OAuth client (NotConnected says how
    to connect the channel when either is missing)."""
    yt = p.cfg.publish.youtube
    assert yt is not None
    client, token = youtube.credentials_for(p.channel, yt.project)
    api = youtube.YouTubeAPI(client, token, ledger, channel=p.channel)
    return youtube.YouTubePublisher(
        api, store, yt.channel_id or token.channel_id, chunk_bytes=int(yt.chunk_mib * 1024 * 1024)
    )


def taken_slots(conn: Conn, p: Production) -> dict[str, datetime]:
    """The publish times already given to the channel's items (item name -> time)."""
    yt = p.cfg.publish.youtube
    if p.cfg.publish.provider == "youtube" and yt is not None:
        return UploadRows(conn, p.channel, yt.project).taken_slots()
    return OutboxPublisher(p.channel).taken_slots()


def slot_for(conn: Conn, p: Production, item: str, at: time | None) -> datetime | None:
    """The publish time of `item`: the one it was already given, else the first free day's `at` in the
    channel's time zone; None (publish when ready) when the channel has no publish time."""
    if at is None:
        return None
    taken = taken_slots(conn, p)
    return taken.pop(item, None) or next_slot(p.cfg.timezone, at, set(taken.values()), after=clock.now())


def _quota_wait(p: Production, e: Exception, ledger: Ledger) -> WaitUntil:
    """When the quota YouTube refused (or the ledger says is spent) is back."""
    if isinstance(e, QuotaExhausted) and e.reason == "uploadLimitExceeded":
        day_ago = clock.now() - timedelta(hours=24)
        first = min(ledger.channel_uploads_since(day_ago), default=clock.now())
        return WaitUntil(
            f"channel {p.channel} reached YouTube's upload limit (a rolling 24 hours per channel)",
            first + timedelta(hours=24),
        )
    return WaitUntil(f"project {ledger.project}'s YouTube quota for today is spent", quota.next_reset())


def publish_item(conn: Conn, p: Production, item: PublishItem) -> dict:
    """Publish `item` exactly once: to the channel's outbox, or to YouTube. On YouTube, first check that
    everything it still needs fits the project's quota left today; when it does not, or YouTube says the
    quota or the channel's upload limit is spent, raise WaitUntil (the task waits deferred until then). A
    revoked token or a token for another channel stops the item, marked failed with what to do."""
    yt = p.cfg.publish.youtube
    if p.cfg.publish.provider != "youtube" or yt is None:
        costs.spend(p.id, "publish:outbox", "youtube", "outbox", 0, "units")  # free: a local folder
        return OutboxPublisher(p.channel).publish(item)
    store, ledger = UploadRows(conn, p.channel, yt.project), Ledger(yt.project, p.channel)
    publisher = youtube_publisher(p, store, ledger)
    need = publisher.calls(item, store.load(item))
    units, uploads = sum(quota.UNITS[c] for c in need), need.count("videos.insert")
    try:
        if not ledger.today().fits(units, uploads):
            raise QuotaExhausted("quotaExceeded", f"the publish needs {units} units and {uploads} upload")
        receipt = publisher.publish(item)
    except QuotaExhausted as e:
        wait = _quota_wait(p, e, ledger)
        store.mark(item.name, "waiting", f"waiting for quota: {wait}", wait.until)
        raise wait from e
    except (youtube.TokenRevoked, youtube.WrongChannel) as e:
        store.mark(item.name, "failed", f"needs attention: {e}")
        raise
    finally:
        costs.youtube(p.id)  # the units the quota ledger holds for this production, failed calls too
    store.mark(item.name, "published", "scheduled" if item.publish_at else f"published {item.privacy}")
    return receipt


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
    conn: Conn, p: Production, script_rel: str, audio: AudioOutput, broll: BrollOutput, final: FinalOutput
) -> dict:
    """Publish the video, its chosen thumbnail and captions at the channel's next free slot, with the
    reviewed listing (which always keeps the how-made disclosure); returns the publisher's receipt."""
    cfg = p.cfg
    script = StoredScript.load(p.abs(script_rel))
    render = final.load_render(p)
    visuals = broll.load_visuals(p).visuals
    # the reviewer's edits from the final checkpoint win
    chosen = draft(p, script, render, audio.voice, visuals).edited(final.overrides)
    disclosure = how_made(script, audio.voice, visuals)
    # an edited description keeps saying how the video was made
    chosen.description = fit_description(chosen.description, keep=disclosure)
    name = f"{p.id:05d}-longform"
    yt = cfg.publish.youtube
    item = PublishItem(
        name=name,
        kind="longform",
        channel=p.channel,
        production_id=p.id,
        dag_run_id=p.dag_run_id,
        title=fit_title(chosen.title, default=script.title),
        description=chosen.description,
        tags=chosen.tags,
        category_id=cfg.publish.category_id,
        language=cfg.language,
        privacy=cfg.publish.privacy,
        made_for_kids=cfg.publish.made_for_kids,
        notify_subscribers=yt.notify_subscribers if yt else True,
        publish_at=slot_for(conn, p, name, cfg.publish.time),
        video=p.abs(final.video),
        thumbnail=p.abs(final.thumbnails[chosen.thumbnail]),
        captions=p.abs(final.captions) if not yt or yt.captions else None,
        playlists=tuple(yt.playlists) if yt else (),
        extra={"duration": final.duration},
    )
    return publish_item(conn, p, item)


def run(production_id: int) -> dict:
    """Publish the approved long-form video with the final review's metadata."""
    with production_db(production_id) as (conn, p):
        script, audio = ScriptOutput.approved(conn, p.id), AudioOutput.approved(conn, p.id)
        broll, final = BrollOutput.approved(conn, p.id), FinalOutput.approved(conn, p.id)
        return publish_longform(conn, p, script.script, audio, broll, final)
