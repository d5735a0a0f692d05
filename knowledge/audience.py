"""Learnings from the audience: what a channel's published videos show, as evidence-backed learnings the
writers read (the `learnings` rows of kind 'audience:<what>', with a `rule` and the figures in `evidence`).

`refresh(conn, channel)` derives them from the Analytics rows (video_daily, video_retention, video_traffic)
once there is enough data: at least MIN_VIDEOS long-form videos with MIN_VIEWS views each, and at least
MIN_GROUP videos on each side of a comparison. What it compares:

- openings (audience:opening, audience:opening-avoid): each video's spoken hook is classified (a question, a
  number, a superlative, a name, a plain statement; see opening_style) and the share of the starting
  audience still watching OPENING_AT seconds in is compared; a style at least MARGIN above (below) the
  others' average becomes rule 'opening:<style>' ('opening:avoid:<style>');
- segment lengths (audience:segments): the script's body segments shorter and longer than their median,
  by the share lost per 10 s; the better side, by SEGMENT_RATIO, is rule 'segment:max_seconds' or
  'segment:min_seconds' (evidence `seconds`);
- video length (audience:length): the shorter and the longer half of the videos by views, the better by
  VIEWS_RATIO without a lower average view percentage (by more than 5 points), as rule
  'length:target_seconds' (evidence `target_seconds`, the narration's median length of the better half);
- topics (audience:topic): the topic of the most viewed video when it drew TOPIC_RATIO x the median, as
  rule 'topic:best';
- Shorts (audience:shorts): how many of their viewers a production's Shorts sent to its long-form
  (video_traffic SHORTS over the Shorts' views), by the style of the Shorts' opening sentence, as rule
  'shorts:opening:<style>'.

A learning that later data contradicts (another style now wins, or the difference is gone) is retired
(retired_at, retired_because), not kept; while a comparison lacks data its learning stays. With the same
data a refresh changes nothing; with new figures for the same conclusion the learning keeps its id and
its lesson and evidence are updated."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import mean, median
from typing import Any

from psycopg.types.json import Jsonb

from knowledge.text import entities
from pipelines import production, retention
from pipelines.artifacts import ScriptOutput
from pipelines.checkpoints import CheckpointError
from pipelines.db import Conn

log = logging.getLogger(__name__)

MIN_VIDEOS = 4  # long-form videos with figures before any learning is drawn
MIN_VIEWS = 100  # views a video needs to count
MIN_GROUP = 2  # videos on each side of a comparison
OPENING_AT = 30.0  # seconds into the video at which openings are compared
MARGIN = 0.05  # share of the starting audience an opening style must hold above (or below) the others
SEGMENT_RATIO = 0.75  # the better segment length loses at most this fraction of the other's rate
MIN_SEGMENTS = 4  # body segments on each side
VIEWS_RATIO = 1.25  # the better video length draws this many times the other's views
TOPIC_RATIO = 1.5  # the best topic draws this many times the channel's median views
SHORTS_RATIO = 1.5  # Shorts of the better opening send this many times the others' share

STYLES = ("question", "number", "superlative", "name", "statement")
_NAMES = {
    "question": "a question",
    "number": "a number",
    "superlative": "a superlative",
    "name": "a name",
    "statement": "a plain statement",
}
_SPELLED = set(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty hundred hundreds thousand thousands million millions billion "
    "billions dozen dozens um uma dois duas três quatro cinco seis sete oito nove dez onze doze treze quatorze "
    "catorze quinze dezesseis dezessete dezoito dezenove vinte trinta cem cento mil milhão milhões bilhão "
    "bilhões dúzia".split()
)
_SUPERLATIVE = set(
    "most least largest biggest smallest oldest youngest newest highest tallest longest shortest fastest "
    "slowest deepest heaviest brightest farthest greatest earliest hottest coldest strongest best worst first "
    "only record maior maiores menor menores melhor melhores pior piores primeiro primeira único única "
    "recorde".split()
)
_ARTICLES = {"the", "o", "a", "os", "as"}


def _bare(token: str) -> str:
    return token.strip(".,;:!?()[]{}\"'“”‘’«»—–-…").casefold()


def opening_style(text: str, topic: str = "") -> str:
    """How a spoken opening opens, by its first sentence with the topic's own words left out ("Apollo 11" is
    no number in a video on Apollo 11): 'question', 'number', 'superlative', 'name' or 'statement'."""
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    if first.rstrip().endswith("?"):
        return "question"
    topic_words = {_bare(w) for w in topic.split()}
    tokens = [t for t in first.split() if _bare(t) not in topic_words]
    bare = [_bare(t) for t in tokens]
    if any(any(c.isdigit() for c in t) or b in _SPELLED for t, b in zip(tokens, bare, strict=True)):
        return "number"
    for i, b in enumerate(bare):
        before = bare[max(0, i - 2) : i]
        if b in _SUPERLATIVE or (b in {"mais", "menos"} and _ARTICLES & set(before)):
            return "superlative"
        if b.endswith("est") and len(b) > 5 and before[-1:] == ["the"]:
            return "superlative"
    if any(not set(map(_bare, e.split())) <= topic_words for e in entities(first) if not e.isdigit()):
        return "name"
    return "statement"


# --- what each video showed -----------------------------------------------------------------------------


@dataclass
class Video:
    """One published long-form video of the channel and its figures."""

    production_id: int
    video_id: str
    topic: str
    views: int
    avp: float  # average view percentage, views-weighted over its days
    narration: float = 0.0  # seconds of narration (the script's length)
    opening: str = "statement"
    held_at_opening: float | None = None  # share of the starting audience still watching at OPENING_AT
    segments: list[tuple[float, float]] = field(default_factory=list)  # body segments: (seconds, share lost)
    shorts_views: int = 0
    shorts_sent: int = 0  # views its Shorts sent to it (video_traffic SHORTS)
    shorts_opening: str | None = None


def videos(conn: Conn, channel: str) -> list[Video]:
    """The channel's long-form videos with at least MIN_VIEWS views, with what their scripts and retention
    curves show (a video whose production files are gone counts with its figures alone)."""
    rows = conn.execute(
        """SELECT u.production_id, u.video_id, p.topic, sum(d.views) AS views,
                  sum(d.average_view_percentage * d.views) / nullif(sum(d.views), 0) AS avp
             FROM youtube_uploads u JOIN productions p ON p.id = u.production_id
             JOIN video_daily d ON d.channel = u.channel AND d.video_id = u.video_id
            WHERE u.channel = %s AND u.kind = 'longform' AND u.video_id IS NOT NULL
            GROUP BY u.production_id, u.video_id, p.topic HAVING sum(d.views) >= %s
            ORDER BY u.production_id""",
        (channel, MIN_VIEWS),
    ).fetchall()
    out = []
    for r in rows:
        v = Video(
            r["production_id"], r["video_id"], r["topic"], int(r["views"]), round(float(r["avp"] or 0), 2)
        )
        try:
            _script_and_curve(conn, v)
        except (LookupError, CheckpointError, FileNotFoundError, ValueError) as e:
            log.warning(
                "video %s: its script or timings cannot be read (%s); counting its figures only",
                v.video_id,
                e,
            )
        _shorts(conn, channel, v)
        out.append(v)
    return out


def _script_and_curve(conn: Conn, v: Video) -> None:
    p = production.load(conn, v.production_id)
    script = ScriptOutput.approved(conn, v.production_id).load_script(p)
    v.opening = opening_style(script.hook or script.segments[0].text, v.topic)
    where = retention.layout(conn, v.production_id, v.video_id)
    v.narration = round(sum(x.end - x.start for x in where.parts if x.kind == "segment"), 1)
    rmap = retention.segment_retention(conn, v.production_id, v.video_id)
    if rmap is None:
        return
    base = rmap.curve[0][1] or 1.0
    if rmap.duration >= OPENING_AT:
        v.held_at_opening = round(rmap.watch_at(OPENING_AT) / base, 4)
    roles = script.roles()
    v.segments = [
        (round(x.end - x.start, 2), x.left or 0.0)
        for x in rmap.segments
        if x.index is not None and roles[x.index] == "body" and x.end > x.start
    ]


def _shorts(conn: Conn, channel: str, v: Video) -> None:
    sent = conn.execute(
        "SELECT views FROM video_traffic WHERE channel = %s AND video_id = %s AND source = 'SHORTS'",
        (channel, v.video_id),
    ).fetchone()
    shorts = conn.execute(
        """SELECT u.details, coalesce(sum(d.views), 0) AS views FROM youtube_uploads u
             LEFT JOIN video_daily d ON d.channel = u.channel AND d.video_id = u.video_id
            WHERE u.production_id = %s AND u.kind = 'short' AND u.video_id IS NOT NULL GROUP BY u.item, u.details""",
        (v.production_id,),
    ).fetchall()
    if sent is None or not shorts:
        return
    v.shorts_sent, v.shorts_views = int(sent["views"]), sum(int(s["views"]) for s in shorts)
    styles = Counter(
        opening_style(
            str(((s["details"] or {}).get("choice") or {}).get("sentences", [{}])[0].get("text", ""))
        )
        for s in shorts
    )
    v.shorts_opening = styles.most_common(1)[0][0]


# --- what they show together ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A conclusion the data supports: `finding` names it (the style, the side, the topic), so a later
    refresh can tell the same conclusion with new figures from a different one."""

    kind: str
    rule: str
    finding: str
    lesson: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class NoDifference:
    """A comparison made on enough data that shows nothing worth a learning: retires what it contradicts."""

    kind: str
    why: str


Verdict = Finding | NoDifference


def _pct(x: float) -> str:
    return f"{round(x * 100)} %"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{round(seconds % 60):02d}"


def _openings(vs: list[Video]) -> list[Verdict]:
    timed = [v for v in vs if v.held_at_opening is not None]
    by_style: dict[str, list[float]] = {}
    for v in timed:
        by_style.setdefault(v.opening, []).append(v.held_at_opening or 0.0)
    groups = {s: xs for s, xs in by_style.items() if len(xs) >= MIN_GROUP}
    if not groups or len(timed) < MIN_VIDEOS:
        return []
    out: list[Verdict] = []
    for kind, pick, sign in (("audience:opening", max, 1), ("audience:opening-avoid", min, -1)):
        style = pick(sorted(groups), key=lambda s: mean(groups[s]))
        rest = [x for s, xs in by_style.items() if s != style for x in xs]
        if len(rest) < MIN_GROUP:
            out.append(NoDifference(kind, f"every video with retention data opens with {_NAMES[style]}"))
            continue
        mine, others = round(mean(groups[style]), 4), round(mean(rest), 4)
        figures = (
            f"{_pct(mine)} still watching at {OPENING_AT:g} s across {len(groups[style])} videos, against "
            f"{_pct(others)} for the other openings ({len(rest)} videos)"
        )
        if sign * (mine - others) < MARGIN:
            out.append(
                NoDifference(
                    kind, f"openings with {_NAMES[style]} now hold about as well as others: {figures}"
                )
            )
            continue
        verb = "held viewers best" if sign > 0 else "lost viewers soonest"
        rule = f"opening:{style}" if sign > 0 else f"opening:avoid:{style}"
        lesson = f"Openings with {_NAMES[style]} {verb}: {figures}."
        evidence = {
            "finding": style,
            "at_seconds": OPENING_AT,
            "held": mine,
            "others_held": others,
            "videos": len(groups[style]),
            "other_videos": len(rest),
        }
        out.append(Finding(kind, rule, style, lesson, evidence))
    return out


def _segment_lengths(vs: list[Video]) -> list[Verdict]:
    segs = [s for v in vs for s in v.segments]
    if len({v.video_id for v in vs if v.segments}) < MIN_VIDEOS:
        return []
    cut = round(median(s for s, _ in segs), 1)
    short = [s for s in segs if s[0] <= cut]
    long = [s for s in segs if s[0] > cut]
    if len(short) < MIN_SEGMENTS or len(long) < MIN_SEGMENTS:
        return []

    def rate(group: list[tuple[float, float]]) -> float:  # share lost per 10 s
        return round(10 * sum(lost for _, lost in group) / sum(sec for sec, _ in group), 4)

    r_short, r_long = rate(short), rate(long)
    figures = (
        f"segments up to {cut:g} s lost {_pct(r_short)} of the starting audience per 10 s ({len(short)} segments), "
        f"longer ones {_pct(r_long)} ({len(long)} segments)"
    )
    evidence = {
        "seconds": cut,
        "short_rate": r_short,
        "long_rate": r_long,
        "short": len(short),
        "long": len(long),
    }
    if r_short <= SEGMENT_RATIO * r_long:
        lesson = f"Short segments held viewers better: {figures}. Keep segments under about {cut:g} s."
        return [
            Finding(
                "audience:segments",
                "segment:max_seconds",
                "shorter",
                lesson,
                {**evidence, "finding": "shorter"},
            )
        ]
    if r_long <= SEGMENT_RATIO * r_short:
        lesson = f"Longer segments held viewers better: {figures}. Let segments run past {cut:g} s."
        return [
            Finding(
                "audience:segments",
                "segment:min_seconds",
                "longer",
                lesson,
                {**evidence, "finding": "longer"},
            )
        ]
    return [NoDifference("audience:segments", f"segment length made little difference: {figures}")]


def _length(vs: list[Video]) -> list[Verdict]:
    timed = sorted((v for v in vs if v.narration > 0), key=lambda v: (v.narration, v.video_id))
    if len(timed) < MIN_VIDEOS:
        return []
    half = len(timed) // 2
    shorter, longer = timed[:half], timed[len(timed) - half :]
    if shorter[-1].narration == longer[0].narration:
        return []

    def side(group: list[Video]) -> dict[str, float]:
        return {
            "seconds": round(median(v.narration for v in group), 1),
            "views": round(mean(v.views for v in group), 1),
            "avp": round(mean(v.avp for v in group), 1),
            "videos": len(group),
        }

    s, lg = side(shorter), side(longer)
    figures = (
        f"videos of about {_minutes(s['seconds'])} drew {s['views']:,.0f} views on average with {s['avp']:g} % viewed "
        f"({s['videos']} videos); those of about {_minutes(lg['seconds'])} {lg['views']:,.0f} views with "
        f"{lg['avp']:g} % viewed ({lg['videos']} videos)"
    )
    for name, win, lose in (("shorter", s, lg), ("longer", lg, s)):
        if win["views"] >= VIEWS_RATIO * lose["views"] and win["avp"] >= lose["avp"] - 5:
            target = int(round(win["seconds"] / 10) * 10) or int(win["seconds"])
            lesson = f"{name.capitalize()} videos did best: {figures}. Aim for about {_minutes(target)} of narration."
            evidence = {"finding": name, "target_seconds": target, name: win, "other": lose}
            return [Finding("audience:length", "length:target_seconds", name, lesson, evidence)]
    return [NoDifference("audience:length", f"video length made no clear difference: {figures}")]


def _topics(vs: list[Video]) -> list[Verdict]:
    if len(vs) < MIN_VIDEOS:
        return []
    best = max(vs, key=lambda v: (v.views, v.video_id))
    typical = median(v.views for v in vs)
    ratio = round(best.views / typical, 2) if typical else 0.0
    if ratio < TOPIC_RATIO:
        return [
            NoDifference("audience:topic", f"no topic stands out: the most viewed drew {ratio:g}x the median")
        ]
    lesson = (
        f"'{best.topic}' drew the most views: {best.views:,}, {ratio:g}x the channel's median of {typical:,.0f} "
        f"({best.avp:g} % viewed). Topics close to it are worth more videos."
    )
    evidence = {
        "finding": best.topic,
        "video_id": best.video_id,
        "views": best.views,
        "median_views": typical,
        "ratio": ratio,
    }
    return [Finding("audience:topic", "topic:best", best.topic, lesson, evidence)]


def _shorts_sent(vs: list[Video]) -> list[Verdict]:
    with_shorts = [v for v in vs if v.shorts_opening and v.shorts_views > 0]
    groups: dict[str, list[Video]] = {}
    for v in with_shorts:
        groups.setdefault(v.shorts_opening or "", []).append(v)
    if len(with_shorts) < MIN_VIDEOS or not any(len(g) >= MIN_GROUP for g in groups.values()):
        return []

    def share(group: Iterable[Video]) -> tuple[float, int, int]:
        group = list(group)
        sent, seen = sum(v.shorts_sent for v in group), sum(v.shorts_views for v in group)
        return (round(sent / seen, 4) if seen else 0.0), sent, seen

    style = max((s for s, g in groups.items() if len(g) >= MIN_GROUP), key=lambda s: (share(groups[s])[0], s))
    rest = [v for v in with_shorts if v.shorts_opening != style]
    if len(rest) < MIN_GROUP:
        return [NoDifference("audience:shorts", f"every production's Shorts open with {_NAMES[style]}")]
    (mine, sent, seen), (others, _, _) = share(groups[style]), share(rest)
    figures = (
        f"{_pct(mine)} of their viewers went on to the long-form ({sent:,} of {seen:,} views, {len(groups[style])} "
        f"videos), against {_pct(others)} for other Shorts ({len(rest)} videos)"
    )
    if mine < SHORTS_RATIO * others or mine == 0:
        return [NoDifference("audience:shorts", f"no Shorts opening sent clearly more viewers: {figures}")]
    lesson = f"Shorts opening with {_NAMES[style]} sent the most viewers to their long-form video: {figures}."
    evidence = {"finding": style, "share": mine, "others_share": others, "sent": sent, "views": seen}
    return [Finding("audience:shorts", f"shorts:opening:{style}", style, lesson, evidence)]


def findings(vs: list[Video]) -> list[Verdict]:
    """What the channel's videos show together (see the module's docstring); [] below MIN_VIDEOS."""
    if len(vs) < MIN_VIDEOS:
        return []
    return [*_openings(vs), *_segment_lengths(vs), *_length(vs), *_topics(vs), *_shorts_sent(vs)]


# --- the learnings table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What a refresh did to one learning: 'added', 'updated' (new figures, same conclusion), 'kept' or
    'retired' (with why)."""

    action: str
    id: int
    kind: str
    rule: str
    lesson: str
    because: str | None = None


def refresh(conn: Conn, channel: str) -> list[Change]:
    """Derive the channel's audience learnings from its videos' figures and bring the learnings table in
    line: new conclusions added, contradicted ones retired, the rest kept (see the module's docstring).
    Call it after each daily Analytics pull of the channel, on a connection entered into the channel."""
    verdicts = findings(videos(conn, channel))
    active = conn.execute(
        "SELECT id, kind, rule, lesson, evidence FROM learnings WHERE channel = %s AND kind LIKE 'audience:%%'"
        " AND retired_at IS NULL ORDER BY id",
        (channel,),
    ).fetchall()
    changes: list[Change] = []
    for verdict in verdicts:
        matched = False
        for row in (r for r in active if r["kind"] == verdict.kind):
            same = (
                isinstance(verdict, Finding)
                and row["rule"] == verdict.rule
                and (row["evidence"] or {}).get("finding") == verdict.finding
            )
            if same and isinstance(verdict, Finding):
                matched = True
                if row["lesson"] == verdict.lesson and row["evidence"] == verdict.evidence:
                    changes.append(Change("kept", row["id"], row["kind"], row["rule"], row["lesson"]))
                    continue
                conn.execute(
                    "UPDATE learnings SET lesson = %s, evidence = %s WHERE id = %s",
                    (verdict.lesson, Jsonb(verdict.evidence), row["id"]),
                )
                changes.append(Change("updated", row["id"], row["kind"], verdict.rule, verdict.lesson))
                continue
            because = f"later data: {verdict.lesson if isinstance(verdict, Finding) else verdict.why}"
            conn.execute(
                "UPDATE learnings SET retired_at = now(), retired_because = %s WHERE id = %s",
                (because, row["id"]),
            )
            changes.append(Change("retired", row["id"], row["kind"], row["rule"], row["lesson"], because))
        if isinstance(verdict, Finding) and not matched:
            new = conn.execute(
                "INSERT INTO learnings (channel, kind, lesson, rule, evidence) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (channel, verdict.kind, verdict.lesson, verdict.rule, Jsonb(verdict.evidence)),
            ).fetchone()
            assert new is not None
            changes.append(Change("added", new["id"], verdict.kind, verdict.rule, verdict.lesson))
    for c in changes:
        if c.action != "kept":
            log.info(
                "channel %s: audience learning %s %s: %s", channel, c.id, c.action, c.because or c.lesson
            )
    return changes
