"""The Shorts' own visuals: for each segment of the long-form a Short shows, a visual made for the 9:16 frame.

Per segment (`portrait_visuals`), from the long-form's approved visual:
1. kept as it is (no search) when it is already portrait, when the reviewer picked it at the b-roll
   checkpoint (a swap: their choice stands), or when it came from a source of the subject itself
   (SUBJECT_SOURCES: the channel's own library, Wikimedia Commons): a generic portrait photo would be worse;
2. otherwise the channel's providers are searched for PORTRAIT photos and
   clips with the b-roll stage's terms, ranking, media cache and repeat window (b-roll used on the channel
   within `broll.repeat_days`, anything this production was offered, is skipped); the first usable one is
   the segment's and is recorded in broll_usage (revision 0: the Shorts), so later videos skip it too;
3. otherwise the long-form's visual: a generated card becomes a portrait card of the same text and palette,
   a generated motion background a portrait one; a stock or library picture stays as it is, and the
   renderer crops it where its subject is (media/reframe.py), never with bars.

The result is saved as shorts/visuals.json (only the segments done so far) and reused: a retried Shorts
task searches and draws nothing again."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pipelines.artifacts import AudioOutput, BrollOutput, ScriptOutput, Segment, VisualItem, VisualsManifest
from pipelines.db import Conn
from pipelines.production import Production
from pipelines.providers.broll.generated import PORTRAIT, PORTRAIT_MOTION, SOURCE
from pipelines.stages.broll import (
    Gatherer,
    generated_item,
    providers_for,
    recently_used,
    search_terms,
    segment_seconds,
)

log = logging.getLogger(__name__)
SUBJECT_SOURCES = {"local", "commons"}  # they show the subject itself: kept, reframed
SHORTS_REVISION = 0  # broll_usage's revision for what the Shorts use (the b-roll stage's start at 1)
_OPTION = re.compile(r"broll/r(\d+)/segment-(\d+)-(\d+)\.\w+$")


def _seed(p: Production, item: VisualItem) -> int:
    """The seed the b-roll stage drew a generated visual with (read off its path): the same palette."""
    m = _OPTION.search(item.path.replace("\\", "/"))
    revision, option = (int(m[1]), int(m[3])) if m else (1, 0)
    return p.id * 1000 + revision * 7919 + item.segment * 10 + option


def _searched(g: Gatherer, segment: Segment, index: int, seconds: float) -> VisualItem | None:
    """The best usable portrait photo or clip for the segment, or None."""
    for query in search_terms(segment, g.p.topic):
        for candidate in g.pool(query, seconds):
            item = g.fetch(candidate, index, 0)
            if item:
                return item
    return None


def _portrait_of(g: Gatherer, item: VisualItem, segment: Segment, seconds: float) -> VisualItem:
    """The long-form's visual for a portrait frame: generated ones drawn again at portrait size (same text,
    same palette); anything else as it is (the renderer reframes it)."""
    if item.source != SOURCE:
        return item
    stem = g.out / f"segment-{item.segment:02d}-generated"
    seed = _seed(g.p, item)
    if item.kind == "video":
        v = g.generated.motion_background(stem.with_suffix(".mp4"), seconds, seed=seed, size=PORTRAIT_MOTION)
    else:
        text = segment.on_screen_text or segment.heading
        v = g.generated.make(text, segment.text, stem.with_suffix(".png"), size=PORTRAIT, seed=seed)
    return generated_item(g.p, v, item.segment, item.kind)


def _kept(item: VisualItem, reviewed: bool) -> str | None:
    """Why the long-form's visual is kept without a search, or None."""
    if item.width and item.height and item.height > item.width:
        return "already portrait"
    if reviewed:
        return "the reviewer's choice"
    if item.source in SUBJECT_SOURCES:
        return f"from {item.source}: shows the subject"
    return None


def portrait_visuals(conn: Conn, p: Production, segments: Iterable[int] | None = None) -> VisualsManifest:
    """The long-form's approved visuals with the given segments' (default: all) made for a 9:16 Short (see
    the module's docstring): a manifest for `final.scenes_for`, segments not asked for as the long-form's."""
    longform = BrollOutput.approved(conn, p.id).load_visuals(p)
    by_segment = {v.segment: v for v in longform.visuals}
    saved = p.abs("shorts/visuals.json")  # staged from storage when a run before this one made it
    done = {v.segment: v for v in VisualsManifest.load(saved).visuals} if saved.is_file() else {}
    wanted = by_segment if segments is None else dict.fromkeys(segments)
    todo = [s for s in wanted if s in by_segment and s not in done]
    if todo:
        script = ScriptOutput.approved(conn, p.id).load_script(p)
        seconds = segment_seconds(AudioOutput.approved(conn, p.id).load_timings(p))
        out = p.workspace / "shorts" / "visuals"
        out.mkdir(parents=True, exist_ok=True)
        g = Gatherer(
            p, out, providers_for(p), recently_used(conn, p), seed=p.id * 1000, orientation="portrait"
        )
        reviewed = set((longform.choices or {}).keys())
        for s in todo:
            item, segment, length = by_segment[s], script.segments[s], seconds.get(s, 5.0)
            why = _kept(item, str(s) in reviewed)
            found = None if why or not g.providers else _searched(g, segment, s, length)
            done[s] = found or _portrait_of(g, item, segment, length)
            log.info(
                "Short visual for segment %d: %s %s (%s)",
                s,
                done[s].source,
                done[s].kind,
                "portrait search" if found else why or "no portrait found: the long-form's, for 9:16",
            )
            if done[s] is not item:
                conn.execute(
                    "INSERT INTO broll_usage (channel, provider, clip_id, production_id, revision, segment) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (p.channel, done[s].source, done[s].id, p.id, SHORTS_REVISION, s),
                )
        g.record_costs(conn, "shorts:stock")
        ordered = sorted(done.values(), key=lambda v: v.segment)
        sources = ", ".join(dict.fromkeys(v.source for v in ordered))
        VisualsManifest(provider=sources, visuals=ordered).save(saved)
        p.sync()  # the visuals and their manifest are stored: a retry does not search again
    visuals = [done.get(v.segment, v) for v in longform.visuals]
    return VisualsManifest(provider=", ".join(dict.fromkeys(v.source for v in visuals)), visuals=visuals)
