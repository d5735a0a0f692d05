"""Task `broll` (checkpoint 3): b-roll that fits each script segment, with licence and attribution, never a failed run.

Per segment: search terms from the segment's visual cue (else keywords of its narration), then broader
ones (the first two words, then the topic). The channel's providers (`broll.providers`: local, pexels,
pixabay, commons) are asked in order until there are enough candidates; candidates are ranked by relevance (the
terms found in their tags or description), the channel's preferred media kind and whether a clip lasts
the segment. Clips used on the channel within `broll.repeat_days` (and any clip already in this video,
or offered at an earlier revision) are skipped. A provider that fails (bad key, 429 or 5xx after
retries) is logged and left out for the rest of the stage. Whatever is still missing is generated: a
card with the segment's on-screen text, a motion background, another card. Commons (`commons`) is first
asked, alone, for the names and years the segment mentions (`subject_terms`).

Downloads are stored once by content hash (`MediaCache`, shared by the channels under the data dir) and
linked into the workspace. The manifest `visuals.json` holds the first choice and OPTIONS options per
segment; the reviewer can swap options at the b-roll checkpoint."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pipelines import checkpoints, costs
from pipelines.artifacts import (
    AudioOutput,
    BrollOutput,
    ScriptOutput,
    Segment,
    StoredScript,
    Timings,
    VisualItem,
    VisualsManifest,
)
from pipelines.checkpoints import Checkpoint, CheckpointError
from pipelines.db import Conn
from pipelines.media.cache import MediaCache, link_into, sha256_file
from pipelines.paths import data_dir
from pipelines.production import Production
from pipelines.providers.broll.base import BrollProvider, Candidate, fits, measure, relevance, suffix_of
from pipelines.providers.broll.generated import GeneratedVisuals, Visual, keywords
from pipelines.providers.broll.stock import Pexels, Pixabay
from pipelines.providers.http import ProviderError

log = logging.getLogger(__name__)
OPTIONS = 3  # per segment: the first choice and two alternatives
_STOCK = {
    "pexels": (Pexels, "PEXELS_API_KEY", "pexels_default"),
    "pixabay": (Pixabay, "PIXABAY_API_KEY", "pixabay_default"),
}


def cache() -> MediaCache:
    """The b-roll media cache, shared by every channel under the data dir."""
    return MediaCache(data_dir() / "cache" / "broll")


def search_terms(segment: Segment, topic: str) -> list[str]:
    """Most specific first: the visual cue's keywords (else the narration's), the first two, the topic."""
    words = keywords(segment.visual_cue, 4) or keywords(segment.text, 4)
    queries = [" ".join(words), " ".join(words[:2]), " ".join(keywords(topic, 4)) or topic.strip()]
    return [q for q in dict.fromkeys(queries) if q]


def providers_for(p: Production) -> list[BrollProvider]:
    """The channel's b-roll providers in its order; a stock provider without a key is skipped (logged)."""
    cfg = p.cfg.broll
    out: list[BrollProvider] = []
    for name in cfg.providers:
        if name == "local":
            from pipelines.providers.broll.local import LocalLibrary

            out.append(LocalLibrary(cfg.library_path, min_width=cfg.min_width))
            continue
        if name == "commons":  # no key: Wikimedia asks only for a descriptive User-Agent
            from pipelines.providers.broll.commons import Commons
            from pipelines.providers.http import wikimedia_user_agent

            out.append(
                Commons(
                    language=p.cfg.language,
                    min_width=cfg.min_width,
                    search_cache=cache().root / "search",
                    base_url=os.environ.get("COMMONS_BASE_URL") or None,
                    user_agent=wikimedia_user_agent("b-roll from Wikimedia Commons"),
                )
            )
            continue
        cls, variable, conn_id = _STOCK[name]
        key = os.environ.get(variable)
        if not key:
            log.warning(
                "b-roll: %s skipped: no key (set %s or the Airflow connection %s)", name, variable, conn_id
            )
            continue
        out.append(
            cls(
                key,
                language=p.cfg.language,
                min_width=cfg.min_width,
                search_cache=cache().root / "search",
                base_url=os.environ.get(f"{variable.removesuffix('_API_KEY')}_BASE_URL") or None,
            )
        )
    return out


def recently_used(conn: Conn, p: Production) -> set[tuple[str, str]]:
    """Clips the channel used within its repeat window, and every clip this production was offered."""
    rows = conn.execute(
        "SELECT DISTINCT provider, clip_id FROM broll_usage WHERE channel = %s AND "
        "(used_at > now() - make_interval(days => %s) OR production_id = %s)",
        (p.channel, p.cfg.broll.repeat_days, p.id),
    )
    return {(r["provider"], r["clip_id"]) for r in rows}


def segment_seconds(timings: Timings) -> dict[int, float]:
    """How long each segment's visual is on screen: from its start to the next segment's start."""
    spans = timings.segments
    ends = [s.start for s in spans[1:]] + [timings.duration]
    return {s.segment: max(0.5, end - s.start) for s, end in zip(spans, ends, strict=True)}


class Gatherer:
    """One stage run's search: the providers still answering, what is used (never offered twice), the
    search answers so far; `orientation` "portrait" searches for a Short (shorts_visuals)."""

    def __init__(
        self,
        p: Production,
        out: Path,
        providers: list,
        used: set[tuple[str, str]],
        seed: int,
        orientation: str = "landscape",
    ):
        self.p, self.out, self.providers, self.used, self.seed = p, out, providers, used, seed
        self.orientation = orientation
        self.by_name = {provider.name: provider for provider in providers}
        self.searched: dict[str, int] = dict.fromkeys(self.by_name, 0)  # searches sent, per provider
        self.made = 0  # generated visuals
        self.media = ["image" if m == "photo" else m for m in p.cfg.broll.media]
        self.cache = cache()
        self._results: dict[tuple[str, str, str], list[Candidate]] = {}
        self.generated = GeneratedVisuals()

    def _search(self, provider, query: str, kind: str) -> list[Candidate]:
        key = (provider.name, query, kind)
        if key not in self._results:
            self.searched[provider.name] += 1
            self._results[key] = (
                provider.search(query, kind)
                if self.orientation == "landscape"
                else provider.search(query, kind, orientation=self.orientation)
            )
        return self._results[key]

    def pool(self, query: str, seconds: float, only: str | None = None) -> list[Candidate]:
        """Unused candidates for `query`, from the providers (or provider `only`) in order until there are
        enough, best first."""
        found: list[Candidate] = []
        for provider in [x for x in self.providers if only in (None, x.name)]:
            try:
                found += [
                    c
                    for kind in self.media
                    for c in self._search(provider, query, kind)
                    if (c.source, c.id) not in self.used
                ]
            except ProviderError as e:
                log.warning("b-roll: %s failed and is not asked again in this stage: %s", provider.name, e)
                self.providers.remove(provider)
            if len(found) >= OPTIONS:
                break
        order = [p.name for p in self.providers]

        def rank(c: Candidate) -> tuple:
            lasts = c.duration is None or c.duration >= seconds
            return (
                -relevance(query, c.text),
                self.media.index(c.kind),
                not lasts,
                order.index(c.source) if c.source in order else len(order),
            )

        return sorted(dict.fromkeys(found), key=rank)  # stable: the provider's own order breaks ties

    def fetch(self, c: Candidate, segment: int, option: int) -> VisualItem | None:
        """The candidate in the workspace (through the cache), measured; None if it cannot be used."""
        self.used.add((c.source, c.id))  # tried once: never again in this video, usable or not
        try:
            blob = self.cache.get(c.key) or self.cache.put(
                c.key, self.by_name[c.source].fetch(c), suffix_of(c)
            )
            path = link_into(blob, self.out / f"segment-{segment:02d}-{option}{blob.suffix}")
            width, height, duration = measure(path, c.kind)
        except (ProviderError, OSError, ValueError) as e:
            log.warning("b-roll: %s %s %s not used: %s", c.source, c.kind, c.id, e)
            return None
        if not fits(width, height, self.orientation, self.p.cfg.broll.min_width):
            log.warning(
                "b-roll: %s %s %s is %dx%d once downloaded, not %s; not used",
                c.source,
                c.kind,
                c.id,
                width,
                height,
                self.orientation,
            )
            return None
        return VisualItem(
            segment=segment,
            kind=c.kind,
            path=self.p.rel(path),
            source=c.source,
            licence=c.licence,
            attribution=c.attribution,
            url=c.url,
            description=c.description,
            width=width,
            height=height,
            duration=duration,
            id=c.id,
        )

    def stock(self, index: int, segment: Segment, seconds: float) -> list[VisualItem]:
        """Up to OPTIONS usable stock options for the segment, searching its terms in turn."""
        items: list[VisualItem] = []
        # a provider that searches by subject (Commons: the names and years the segment mentions) is asked
        # its own terms first, then every provider the shared ones
        own = [
            (q, x.name)
            for x in self.providers
            if hasattr(x, "subject_terms")
            for q in x.subject_terms(segment.visual_cue, segment.text)
        ]
        for query, only in [*own, *((q, None) for q in search_terms(segment, self.p.topic))]:
            for c in self.pool(query, seconds, only):
                item = self.fetch(c, index, len(items))
                if item:
                    items.append(item)
                    if len(items) == OPTIONS:
                        return items
            log.info(
                "b-roll segment %d: %d of %d options after searching %r", index, len(items), OPTIONS, query
            )
        return items

    def record_costs(self, conn: Conn, key: str) -> None:
        """What this search spent, as `<key>:<provider>` in the stage's transaction: each provider's API calls
        (those its search cache did not answer; the library's searches) and the generated visuals, all free."""
        for name, provider in self.by_name.items():
            calls = getattr(provider, "calls", None)  # the APIs count what they sent
            n, unit = (self.searched[name], "searches") if calls is None else (calls, "calls")
            costs.record(
                conn,
                self.p.id,
                f"{key}:{name}",
                "stock",
                name,
                n,
                unit,
                detail={"searches": self.searched[name]},
            )
        costs.record(conn, self.p.id, f"{key}:generated", "stock", "generated", self.made, "visuals")

    def generate(self, index: int, segment: Segment, seconds: float, option: int) -> VisualItem:
        """Generated options in turn: a card with the on-screen text, a motion background, another card."""
        seed = self.seed + index * 10 + option
        self.made += 1
        stem = self.out / f"segment-{index:02d}-{option}"
        if option % 3 == 1:
            v = self.generated.motion_background(stem.with_suffix(".mp4"), seconds, seed=seed)
        else:
            text = segment.on_screen_text or segment.heading
            v = self.generated.make(text, segment.text, stem.with_suffix(".png"), seed=seed)
        return generated_item(self.p, v, index, "video" if option % 3 == 1 else "image")

    def options(self, index: int, segment: Segment, seconds: float) -> list[VisualItem]:
        """The segment's OPTIONS options: stock first, the rest generated."""
        items = self.stock(index, segment, seconds) if self.providers else []
        if len(items) < OPTIONS:
            log.info("b-roll segment %d: %d stock options; the rest are generated", index, len(items))
        return items + [self.generate(index, segment, seconds, k) for k in range(len(items), OPTIONS)]


def generated_item(p: Production, v: Visual, segment: int, kind: str) -> VisualItem:
    """The manifest entry for a generated visual of `segment`: measured, its id the file's content hash."""
    width, height, duration = measure(v.path, kind)
    return VisualItem(
        segment=segment,
        kind=kind,
        path=p.rel(v.path),
        source=v.source,
        licence=v.licence,
        attribution=v.attribution,
        url=None,
        description=v.description,
        width=width,
        height=height,
        duration=duration,
        id=sha256_file(v.path),
    )


def gather(conn: Conn, p: Production, script_rel: str, timings_rel: str, revision: int) -> BrollOutput:
    """A revision of the visuals: OPTIONS per segment, each recorded in broll_usage (what recently_used
    skips), in visuals.json with the first option chosen; returns the artifacts."""
    out = p.stage_dir("broll", revision)
    script = StoredScript.load(p.abs(script_rel))
    seconds = segment_seconds(Timings.load(p.abs(timings_rel)))
    g = Gatherer(p, out, providers_for(p), recently_used(conn, p), seed=p.id * 1000 + revision * 7919)
    options = [g.options(i, seg, seconds.get(i, 5.0)) for i, seg in enumerate(script.segments)]
    g.record_costs(conn, f"broll:r{revision}:stock")
    for opts in options:
        for o in opts:
            conn.execute(
                "INSERT INTO broll_usage (channel, provider, clip_id, production_id, revision, segment) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (p.channel, o.source, o.id, p.id, revision, o.segment),
            )
    sources = list(dict.fromkeys(o.source for opts in options for o in opts))
    manifest = VisualsManifest(
        provider=", ".join(sources), visuals=[opts[0] for opts in options], options=options
    ).save(out / "visuals.json")
    return BrollOutput(visuals=p.rel(manifest))


def choose(p: Production, visuals_rel: str, choices: dict[int, int]) -> str:
    """Write a copy of the manifest with the reviewer's choices; returns its relative path."""
    manifest = VisualsManifest.load(p.abs(visuals_rel))
    manifest.choose(choices)
    return p.rel(manifest.save(p.abs(visuals_rel).with_name("visuals.chosen.json")))


_SHOWN = {
    "path",
    "kind",
    "source",
    "licence",
    "attribution",
    "url",
    "description",
    "width",
    "height",
    "duration",
}


def view(conn: Conn, p: Production, cp: Checkpoint) -> dict:
    """The b-roll checkpoint on the Review page: each segment's text, its options and which one is chosen."""
    manifest = BrollOutput.of(cp).load_visuals(p)
    script = ScriptOutput.approved(conn, p.id).load_script(p)
    segments = []
    for i, opts in enumerate(manifest.options):
        chosen = next((k for k, o in enumerate(opts) if o.path == manifest.visuals[i].path), 0)
        seg = script.segments[i]
        segments.append(
            {
                "index": i,
                "heading": seg.heading,
                "chosen": chosen,
                "text": seg.text,
                "options": [o.model_dump(mode="json", include=_SHOWN) for o in opts],
            }
        )
    return {"provider": manifest.provider, "segments": segments}


def apply_edits(conn: Conn, p: Production, cp: Checkpoint, edits: dict) -> BrollOutput:
    """Approve with edits: the swapped visuals are what gets rendered."""
    art = BrollOutput.for_edits(cp)
    options = art.load_visuals(p).options
    choices = {}
    for key, k in checkpoints.edit_of(edits, "choices", dict).items():
        seg = int(key) if str(key).isdigit() else -1
        if (
            not 0 <= seg < len(options)
            or not isinstance(k, int)
            or isinstance(k, bool)
            or not 0 <= k < len(options[seg])
        ):
            raise CheckpointError(f"edits.choices[{key!r}] = {k!r}: no such segment or option")
        choices[seg] = k
    art.visuals = choose(p, art.visuals, choices)
    return art


def produce(conn: Conn, p: Production, revision: int, notes: str | None) -> BrollOutput:
    """A revision of the visuals: OPTIONS per segment, the first one chosen."""
    script = ScriptOutput.approved(conn, p.id).script
    timings = AudioOutput.approved(conn, p.id).timings
    return gather(conn, p, script, timings, revision)
