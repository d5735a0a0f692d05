"""Which runs of a script become Shorts, on scripts written for it: each built as the script stage stores it
(StoredScript, intro first) with word timings as the audio stage writes them (Timings: every written word
timed, segments joined with a pause). The hook line offline and through the real `groq` SDK against a local
server speaking Groq's API (tests/helpers/fake_groq.py)."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from knowledge.store import Fact
from pipelines import costs, production
from pipelines.artifacts import Segment, Sentence, Span, StoredScript, Timings, Word, sentence_times
from pipelines.config import Shorts
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.providers.writer import offline
from pipelines.providers.writer.groq import GroqWriter
from pipelines.stages import script as script_stage
from pipelines.stages import shorts
from pipelines.stages.shorts import Choice, choose, hook_line, key_phrase, score
from tests.helpers import edit_yaml
from tests.helpers.fake_groq import FakeGroq

WORD = 0.4  # seconds per narrated word
PAUSE = 0.45  # between segments, as the audio stage joins them

Sentences = list[tuple[str, list[int]]]


def build(
    segments: list[tuple[str, Sentences]], language: str = "en", marked: bool = True
) -> tuple[StoredScript, Timings]:
    """A stored script (the first segment is the spoken intro) and its timings: every whitespace word
    spoken for WORD seconds, segments PAUSE apart. `marked`: with the roles the script stage stores (else
    as a script stored before them)."""
    stored = [
        Segment(heading=h, sentences=[Sentence(text=t, fact_ids=ids) for t, ids in ss]) for h, ss in segments
    ]
    script = StoredScript(title="Test", segments=stored, language=language)
    if marked:
        for seg, role in zip(stored, script.roles(), strict=True):
            seg.role = role
    words, spans, t = [], [], 0.0
    for i, seg in enumerate(stored):
        start = t
        for token in seg.text.split():
            words.append(Word(text=token, start=round(t, 3), end=round(t + WORD - 0.05, 3), segment=i))
            t += WORD
        spans.append(Span(segment=i, start=round(start, 3), end=round(t - 0.05, 3)))
        t += PAUSE
    return script, Timings(duration=round(t - PAUSE, 3), words=words, segments=spans)


def opening(c: Choice) -> str:
    return c.sentences[0].text


def texts(c: Choice) -> list[str]:
    return [s.text for s in c.sentences]


INTRO_EN = ("Introduction", [("Apollo 11.", []), ("Here is what the sources say, fact by fact.", [])])
CLOSING_EN = (
    "Sources and closing",
    [("Those were the facts about Apollo 11.", []), ("The sources are listed in the description.", [])],
)
APOLLO = [
    INTRO_EN,
    (
        "The road to the Moon",
        [
            ("The program grew quickly during the early years of the decade.", [1]),
            ("It needed new rockets, new computers and thousands of engineers.", [2]),
        ],
    ),
    (
        "First steps",
        [
            ("On July 20, 1969, Neil Armstrong became the first person to walk on the Moon.", [3]),
            ("Armstrong and Buzz Aldrin spent about 21 hours on the lunar surface.", [4]),
            ("They collected samples of rock and dust for scientists back home.", [5]),
        ],
    ),
    (
        "Coming home",
        [
            ("This was the end of a long journey for the crew.", []),
            ("The crew splashed down in the Pacific Ocean four days later.", [6]),
        ],
    ),
    CLOSING_EN,
]


def test_a_self_contained_fact_with_a_number_and_a_name_opens_the_short():
    script, timings = build(APOLLO)
    [best] = choose(script, timings, max_seconds=30, count=1)
    assert opening(best) == "On July 20, 1969, Neil Armstrong became the first person to walk on the Moon."
    # whole sentences, within the limit, cut on the narration's own word times
    assert 15 <= best.end - best.start <= 30
    first_word = next(w for w in timings.words if w.text == "On")
    assert best.start == pytest.approx(first_word.start - 0.1)
    assert any("number: 20, 1969" in r for r in best.reasons) and any(
        "Neil Armstrong" in r for r in best.reasons
    )
    assert any("superlative: first" in r for r in best.reasons)
    assert best.score == pytest.approx(sum(float(r.split()[0]) for r in best.reasons))
    # it goes on through "They collected…" and "This was…", which need the sentences before them, to a
    # complete thought at the end of a segment
    assert texts(best)[2:] == [s for s, _ in APOLLO[2][1][2:] + APOLLO[3][1]]
    assert "+0.5 ends where its segment ends" in best.reasons
    # with 20 s it cannot get there: it ends before "This was…", and says what that cost
    [shorter] = choose(script, timings, max_seconds=20, count=1)
    assert opening(shorter) == opening(best) and texts(shorter)[-1].startswith("They collected")
    assert "-2 ends just before a sentence that carries on from it" in shorter.reasons
    record = best.record()
    assert record["sentences"][0] == {"segment": 2, "sentence": 0, "text": opening(best)}
    assert record["start"] == best.start and record["reasons"] == list(best.reasons)


def test_a_run_that_opens_on_what_was_said_before_is_not_chosen():
    dangling = [
        INTRO_EN,
        (
            "The telescope",
            [
                ("Engineers spent years designing a telescope that could work above the air.", [1]),
                ("Its mirror had to be ground with extreme care before the launch.", [2]),
            ],
        ),
        (
            "Launch",
            [
                # the strongest facts of the script, but "This"/"As we saw" need what came before
                ("This telescope, the largest NASA had built, was launched on April 24, 1990.", [3]),
                ("As we saw, Hubble reached an orbit 547 kilometres above the Earth in 1990.", [4]),
                ("A flaw in the mirror blurred the first images sent back to the ground.", [5]),
                ("Astronauts repaired the optics during a servicing mission in December 1993.", [6]),
            ],
        ),
        (
            "Science",
            [
                ("The sharper pictures changed how astronomers measure the age of the universe.", [7]),
                ("Its deep field images show thousands of galaxies in a tiny patch of sky.", [8]),
            ],
        ),
        CLOSING_EN,
    ]
    script, timings = build(dangling)
    chosen = choose(script, timings, max_seconds=20, count=3)
    assert chosen, "standalone runs exist"
    for c in chosen:
        assert not opening(c).startswith(("This", "As we saw")), opening(c)
        assert not any("needs what was said before" in r for r in c.reasons)
    assert opening(chosen[0]) == "Astronauts repaired the optics during a servicing mission in December 1993."
    # what "This telescope, the largest…" would have scored, and why it was left out
    this = next(s for s in sentence_times(script, timings) if s.text.startswith("This telescope"))
    _, why = score([this], "en", 20)
    assert "+3 opens with a superlative: largest" in why and "+3 opens with a number: 24, 1990" in why
    assert "-6 opens with 'This', which needs what was said before" in why


def test_when_every_run_opens_on_what_was_said_before_the_best_is_taken_and_said(caplog):
    only_dangling = [
        INTRO_EN,
        (
            "Launch",
            [
                ("It was launched by the crew of the Space Shuttle Discovery in April 1990.", [1]),
                ("Its main mirror is 2.4 metres across and weighs about 828 kilograms.", [2]),
                ("It circles the Earth every 95 minutes at about 27,000 kilometres an hour.", [3]),
            ],
        ),
        CLOSING_EN,
    ]
    script, timings = build(only_dangling)
    chosen = choose(script, timings, max_seconds=58, count=3, min_seconds=4)  # room for three, yet one
    assert len(chosen) == 1 and "-6 opens with 'It', which needs what was said before" in chosen[0].reasons
    assert "every run of the script's body opens on what was said before" in caplog.text


def test_the_intro_and_the_closing_are_never_in_a_short():
    # the offline writer's intro and closing name the topic ("Apollo 11": a name and a number), the body
    # has nothing that strong; with room for five Shorts of three minutes, still no intro and no closing
    for marked in (True, False):  # marked by the script stage, or a script stored before the marks
        script, timings = build(APOLLO, marked=marked)
        chosen = choose(script, timings, max_seconds=180, count=5, min_seconds=1)
        said = [s.text for c in chosen for s in c.sentences]
        assert chosen and len(said) == len(set(said))
        for intro_or_closing in (*INTRO_EN[1], *CLOSING_EN[1]):
            assert intro_or_closing[0] not in said
        body = (timings.segments[1].start - 0.1, timings.segments[-1].start - 0.1)  # closing: the last span
        assert all(body[0] <= c.start < c.end <= body[1] for c in chosen)


def test_the_stored_script_marks_the_offline_writers_intro_and_closing():
    facts = [
        Fact(i, claim, "Apollo 11", "https://en.wikipedia.org/wiki/Apollo_11", None, i)
        for i, claim in enumerate(
            [
                "On July 20, 1969, Neil Armstrong became the first person to walk on the Moon.",
                "Armstrong and Buzz Aldrin spent about 21 hours on the lunar surface.",
                "The crew splashed down in the Pacific Ocean on July 24, 1969.",
            ],
            start=1,
        )
    ]
    written = offline.write("Apollo 11", "en", facts, target_words=120)
    stored = script_stage._stored(
        written, "en", {f.id: f for f in facts}, topic="Apollo 11", writer=offline.NAME, disclosure=""
    )
    data = stored.dump()
    assert [seg.get("role") for seg in data["segments"]] == ["intro", "body", "body", "closing"]
    assert data["segments"][-1]["heading"] == "Sources and closing"
    # an older script.json without the marks loads, and is read the same way
    for seg in data["segments"]:
        del seg["role"]
    old = StoredScript.model_validate(data)
    assert old.roles() == ["intro", "body", "body", "closing"] and "role" not in old.dump()["segments"][0]


def test_count_and_max_seconds_are_kept_without_overlap():
    facts = [
        (f"In {1900 + 7 * k}, the observatory at Station {k} recorded {k + 2} new comets in one year.", [k])
        for k in range(1, 25)
    ]
    segments = [INTRO_EN, *[(f"Part {n}", facts[n * 4 : n * 4 + 4]) for n in range(6)], CLOSING_EN]
    script, timings = build(segments)
    for max_seconds, count in ((20, 3), (30, 5), (58, 2), (180, 1)):
        chosen = choose(script, timings, max_seconds=max_seconds, count=count)
        assert len(chosen) == count
        spans = sorted((c.start, c.end) for c in chosen)
        assert all(15 <= end - start <= max_seconds for start, end in spans)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    assert Shorts(max_seconds=180).max_seconds == 180 and Shorts().max_seconds == 58
    with pytest.raises(ValidationError):
        Shorts(max_seconds=181)


def test_a_body_shorter_than_the_minimum_is_one_short_of_all_of_it():
    short = [INTRO_EN, ("Launch", [("Apollo 11 launched on July 16, 1969.", [1])]), CLOSING_EN]
    script, timings = build(short)
    [only] = choose(script, timings, max_seconds=58, count=2)
    assert texts(only) == ["Apollo 11 launched on July 16, 1969."] and only.end - only.start < 15


def test_portuguese_openings_that_need_what_came_before_are_not_chosen():
    intro = (
        "Introdução",
        [("Independência do Brasil.", []), ("Veja o que dizem as fontes, fato por fato.", [])],
    )
    closing = (
        "Fontes e encerramento",
        [
            ("Esses foram os fatos sobre a Independência do Brasil.", []),
            ("As fontes estão na descrição.", []),
        ],
    )
    segments = [
        intro,
        (
            "O grito",
            [
                ("Isso aconteceu às margens do riacho Ipiranga, em São Paulo, em 1822.", [1]),
                ("Como vimos, Dom Pedro I era o herdeiro do trono português.", [2]),
                ("Ele voltava de uma viagem a Santos quando recebeu as cartas.", [3]),
            ],
        ),
        (
            "O império",
            [
                ("Em 7 de setembro de 1822, Dom Pedro I proclamou a Independência do Brasil.", [4]),
                ("Em dezembro, foi coroado o primeiro imperador do país.", [5]),
                ("Esse título durou até a sua abdicação, anos depois.", [6]),
                ("Ele governou o Império do Brasil por quase nove anos.", [7]),
            ],
        ),
        (
            "A Constituição",
            [
                ("A Constituição de 1824 foi a primeira do Brasil independente.", [8]),
                ("Ela deu ao imperador o Poder Moderador, acima dos outros três.", [9]),
                ("Durou até a Proclamação da República, em 1889.", [10]),
                ("Nenhuma outra Constituição brasileira vigorou por tanto tempo: 65 anos.", [11]),
            ],
        ),
        closing,
    ]
    script, timings = build(segments, language="pt-BR")
    # the first segment opens on "Isso", "Como vimos" and "Ele": no Short starts there
    [best, second] = choose(script, timings, max_seconds=20, count=2, language="pt-BR")
    assert opening(best) == "A Constituição de 1824 foi a primeira do Brasil independente."
    assert "+3 opens with a superlative: primeira" in best.reasons and best.score > second.score
    assert opening(second) == "Em 7 de setembro de 1822, Dom Pedro I proclamou a Independência do Brasil."
    assert "+2 opens with a name: Dom Pedro I, Independência do Brasil" in second.reasons
    assert (
        texts(second)[-1] == "Ele governou o Império do Brasil por quase nove anos."
    )  # "Esse título" inside
    assert key_phrase(opening(second), "pt-BR") == "7 de setembro de 1822"
    assert key_phrase(opening(best), "pt-BR") == "1824 foi a primeira do Brasil independente"


def test_the_offline_hook_is_the_opening_facts_key_phrase():
    sentence = (
        "Jupiter is the largest planet in the Solar System, with a mass more than two and a half times "
        "that of all the other planets combined."
    )
    assert hook_line(sentence, "en") == "Largest planet in the Solar System"
    assert hook_line(
        "On July 20, 1969, Neil Armstrong became the first person to walk on the Moon.", "en"
    ) == ("Neil Armstrong became the first person")
    assert len(hook_line(sentence, "en").split()) <= 7


def test_sentence_times_follow_the_word_timings():
    script, timings = build(APOLLO)
    timed = sentence_times(script, timings)
    assert [s.text for s in timed] == [s.text for seg in script.segments for s in seg.sentences]
    armstrong = next(s for s in timed if s.text.startswith("On July 20"))
    words = timings.words_in(2)
    assert (armstrong.start, armstrong.end) == (words[0].start, words[14].end)  # its 15 words
    assert armstrong.start == timings.segments[2].start


# -- the hook line through Groq ------------------------------------------------------------------------

KEY = "gsk_test_SECRET_0123456789"
JUPITER = "Jupiter is the largest planet in the Solar System, with a mass of 1.9 x 10^27 kg."


@pytest.fixture
def fake():
    with FakeGroq() as f:
        yield f


def groq(fake: FakeGroq) -> GroqWriter:
    return GroqWriter(KEY, base_url=fake.url, timeout=5, max_retries=0)


def test_groq_writes_the_hook_line(fake: FakeGroq):
    fake.add_completion(json.dumps({"hook": "<b>The largest</b> planet of all"}), completion_tokens=12)
    line = hook_line(JUPITER, "en", groq(fake))
    assert line == "The largest planet of all"  # cleaned of markup
    [request] = fake.requests
    system, user = request.messages
    assert user == {"role": "user", "content": JUPITER}
    assert "English" in system["content"] and "at most 8 words" in system["content"]
    assert request.json["response_format"] == {"type": "json_object"}


def test_groqs_hook_line_is_cut_to_its_length(fake: FakeGroq):
    long = "Jupiter, the largest planet of the whole Solar System, is truly enormous and heavy"
    fake.add_completion(json.dumps({"hook": long}))
    line = groq(fake).hook_line(JUPITER, "en")
    assert line == "Jupiter, the largest planet of the whole Solar" and len(line) <= 48


def test_a_portuguese_hook_line_from_groq(fake: FakeGroq):
    fake.add_completion(json.dumps({"hook": "7 de setembro de 1822"}, ensure_ascii=False))
    sentence = "Em 7 de setembro de 1822, Dom Pedro I proclamou a Independência do Brasil."
    assert hook_line(sentence, "pt-BR", groq(fake)) == "7 de setembro de 1822"
    assert "Brazilian Portuguese" in fake.requests[0].messages[0]["content"]


def test_the_key_phrase_stands_in_when_groq_fails(fake: FakeGroq, caplog):
    caplog.set_level(logging.WARNING)
    fake.add_error(503, "Service Unavailable", type="internal_server_error")
    assert hook_line(JUPITER, "en", groq(fake)) == "Largest planet in the Solar System"
    assert "HTTP 503" in caplog.text and "key phrase" in caplog.text and KEY not in caplog.text
    # an answer with a number the sentence does not have is refused too
    fake.add_completion(json.dumps({"hook": "Jupiter weighs 300 Earths"}))
    assert hook_line(JUPITER, "en", groq(fake)) == "Largest planet in the Solar System"
    assert "number 300 is not in the sentence" in caplog.text


def test_the_stage_asks_groq_once_for_a_shorts_hook_and_a_retry_keeps_it(
    fake: FakeGroq, database, data_dir, configs, monkeypatch, tmp_path
):
    # a channel that writes with Groq gets its Shorts' hook lines from Groq, through the stage's own wiring
    edit_yaml(configs / "science_en.yaml", {"llm.provider": "groq"})
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    monkeypatch.setenv("GROQ_BASE_URL", fake.url)
    with connect() as conn:
        p = production.create(conn, "science_en", "Apollo 11", "test-hook-groq")
    [choice] = choose(*build(APOLLO), max_seconds=30, count=1)
    fake.add_completion(
        json.dumps({"hook": "First steps on the Moon"}), prompt_tokens=90, completion_tokens=8
    )
    llm = shorts._hook_writer(p)
    assert isinstance(llm, GroqWriter)
    recorded = tmp_path / "short-1.choice.json"
    assert shorts._hook_of(p.id, 1, recorded, choice, "en", llm) == "First steps on the Moon"
    assert read_json(recorded)["hook"] == "First steps on the Moon"  # recorded with the choice
    # a retry of the task shows the same line without asking again (the video may already show it)
    assert shorts._hook_of(p.id, 1, recorded, choice, "en", llm) == "First steps on the Moon"
    assert len(fake.requests) == 1
    # what the one call spent is on the production's costs, once
    with connect() as conn:
        [line] = [x for x in costs.of_production(conn, p.id).lines if x.key.startswith("shorts:")]
    assert (line.key, line.provider, line.quantity, line.unit) == ("shorts:1:hook:llm", "groq", 98, "tokens")
    assert line.cost_usd and line.cost_usd > 0 and line.detail["calls"] == 1
    llm.close()
    # without a key the channel's Shorts open on the fact's key phrase, offline
    monkeypatch.delenv("GROQ_API_KEY")
    assert shorts._hook_writer(p) is None
