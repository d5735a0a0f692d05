"""Retention mapped onto the script (pipelines.retention): real rows in PostgreSQL, the production's own
script.json, timings.json and render.json. The intro clip shifts every segment; a Short maps onto its own
window of the long-form; the summary names the segment viewers left and the share who did."""

from __future__ import annotations

import pytest

from pipelines import retention
from pipelines.db import connect
from tests.helpers.audience import add_short, curve, piecewise, publish

CHANNEL = "science_en"
SEGMENTS = [
    ("Introduction", [("Apollo 11 in six facts.", 0.2, 3.5, [])]),
    (
        "Launch",
        [
            ("Apollo 11 launched on 16 July 1969.", 4.0, 16.0, [1]),
            ("It carried three astronauts.", 17.0, 29.5, [2]),
        ],
    ),
    (
        "The crew",
        [
            ("The crew were Neil Armstrong, Buzz Aldrin and Michael Collins.", 30.0, 44.0, [3]),
            ("Armstrong stepped onto the Moon first.", 45.0, 59.5, [4]),
        ],
    ),
    (
        "Sources and closing",
        [
            ("Those were the facts about Apollo 11.", 60.0, 75.0, []),
            ("The sources are in the description.", 76.0, 89.0, []),
        ],
    ),
]
# the long-form: a 5 s intro clip, 90 s of narration, a 5 s outro
WATCH = piecewise(
    (0, 1.0), (1, 1.0), (5, 0.9), (9, 0.85), (35, 0.83), (50, 0.6), (65, 0.45), (95, 0.40), (100, 0.30)
)


def spans(parts):
    return [(p.kind, p.index, p.start, p.end) for p in parts]


def test_the_intro_shifts_every_segment_and_the_summary_names_where_viewers_left(database, data_dir, configs):
    with connect() as conn:
        pid = publish(
            conn, CHANNEL, "Apollo 11", SEGMENTS, video_id="vidLONG", narration=90.0, intro=5.0, outro=5.0
        )
        assert retention.segment_retention(conn, pid, "vidLONG") is None  # no curve yet
        assert retention.segment_boundaries(conn, pid, "vidLONG") == [
            (0.0, "intro clip"),
            (5.0, "segment 1, 'Introduction'"),
            (9.0, "segment 2, 'Launch'"),
            (35.0, "segment 3, 'The crew'"),
            (65.0, "segment 4, 'Sources and closing'"),
            (95.0, "outro"),
        ]
        curve(conn, CHANNEL, "vidLONG", 100.0, WATCH)
        rmap = retention.segment_retention(conn, pid, "vidLONG")
    assert rmap is not None and rmap.duration == 100.0 and rmap.kind == "longform"
    assert rmap.curve[0] == (1.0, 1.0) and rmap.curve[-1] == (100.0, 0.3)
    assert spans(rmap.parts) == [
        ("intro", None, 0.0, 5.0),
        ("segment", 0, 5.0, 9.0),  # narration 0-4 s, after the 5 s intro
        ("segment", 1, 9.0, 35.0),
        ("segment", 2, 35.0, 65.0),
        ("segment", 3, 65.0, 95.0),
        ("outro", None, 95.0, 100.0),
    ]
    crew = rmap.parts[3]
    assert (crew.heading, crew.first_sentence) == ("The crew", SEGMENTS[2][1][0][0])
    assert (crew.watch_start, crew.watch_end, crew.left) == (0.83, 0.45, 0.38)
    assert [p.left for p in rmap.parts] == [0.1, 0.05, 0.02, 0.38, 0.05, 0.1]
    assert [(s.segment, s.index, s.start, s.end) for s in rmap.sentences] == [
        (0, 0, 5.0, 9.0),
        (1, 0, 9.0, 22.0),  # to the next sentence's first word (17 s + 5 s)
        (1, 1, 22.0, 35.0),
        (2, 0, 35.0, 50.0),
        (2, 1, 50.0, 65.0),
        (3, 0, 65.0, 81.0),
        (3, 1, 81.0, 95.0),
    ]
    assert rmap.sentences[3].left == 0.23
    assert rmap.summary() == [
        "10 % of viewers left during the intro clip (the first 5 s).",
        "38 % of viewers left during segment 3, 'The crew'.",
        "Segment 2, 'Launch' held its viewers (at most 2 % left).",
        "The sentence that lost most viewers (23 %) is in segment 3: "
        "'The crew were Neil Armstrong, Buzz Aldrin and Michael…'.",
        "30 % of the starting viewers watched to the end.",
    ]


def test_without_an_intro_segments_start_at_their_narration_time(database, data_dir, configs):
    with connect() as conn:
        # a render.json from before the intro was recorded, and a channel without an intro clip
        pid = publish(conn, CHANNEL, "Apollo 11", SEGMENTS, video_id="vidOLD", narration=90.0, intro=None)
        assert retention.segment_boundaries(conn, pid, "vidOLD")[:3] == [
            (0.0, "segment 1, 'Introduction'"),
            (4.0, "segment 2, 'Launch'"),
            (30.0, "segment 3, 'The crew'"),
        ]


def test_a_short_maps_onto_its_own_window_of_the_long_form(database, data_dir, configs):
    with connect() as conn:
        pid = publish(
            conn, CHANNEL, "Apollo 11", SEGMENTS, video_id="vidLONG", narration=90.0, intro=5.0, outro=5.0
        )
        # the Short is the narration from 16.9 s (0.1 s before "It carried…") to 44.35 s (after "…Collins.")
        add_short(conn, pid, 1, "vidSHORT", 16.9, 44.35)
        curve(conn, CHANNEL, "vidSHORT", 27.45, lambda t: 1.0 - 0.01 * t)
        rmap = retention.segment_retention(conn, pid, "vidSHORT")
        with pytest.raises(LookupError, match="not an upload of production"):
            retention.segment_retention(conn, pid, "someone-elses")
    assert rmap is not None and rmap.kind == "short" and rmap.duration == 27.45
    # no intro, no outro: the Short's time t is the narration's 16.9 + t
    assert spans(rmap.parts) == [("segment", 1, 0.0, 13.1), ("segment", 2, 13.1, 27.45)]
    assert [(s.segment, s.index, s.start, s.end) for s in rmap.sentences] == [
        (1, 1, 0.0, 13.1),
        (2, 0, 13.1, 27.45),
    ]
    assert rmap.parts[1].watch_start == pytest.approx(1 - 0.131, abs=1e-4)
    assert rmap.parts[1].left == pytest.approx(0.1435 / rmap.curve[0][1], abs=1e-3)
