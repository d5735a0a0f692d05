"""YouTube's rules for titles, descriptions and tags: counted YouTube's way (bytes for the description, quotes
and commas for tags), hostile text made plain, nicheflow's proposals fitted, and messages that say what to fix."""

from __future__ import annotations

import pytest

from pipelines.metadata import (
    clean,
    fit_description,
    fit_tags,
    fit_title,
    full_description,
    problems,
    tags_length,
)

HOSTILE = (
    "<b>The Hubble</b> {\\an8}{\\b1}Space Telescope{\\b0} at 100% \\ C:\\temp "
    "<script>alert('x')</script>'; DROP TABLE productions; -- ../../etc/passwd <i>&amp;</i> a < b >"
)
# 4 bytes in UTF-8 for every 3 characters or so: under 5000 characters, over 5000 bytes
PORTUGUESE = "Ação e emoção: a expedição às ilhas não terminou, então começou a tradição. " * 64


def test_a_portuguese_description_is_counted_in_bytes():
    assert len(PORTUGUESE) < 5000 < len(PORTUGUESE.encode("utf-8"))
    size = len(PORTUGUESE.encode("utf-8"))
    assert problems(description=PORTUGUESE) == {
        "description": f"{size:,} bytes in UTF-8; YouTube allows 5,000 — cut about {size - 5000:,} bytes "
        "(accented letters take 2)"
    }
    assert problems(description="a" * 5000) == {}


def test_fit_description_cuts_the_body_and_keeps_the_disclosure_whole():
    keep = "Como este vídeo foi feito:\nRoteiro: o escritor offline do nicheflow.\nNarração: espeak-ng."
    body = "\n".join([PORTUGUESE[:300]] * 20)  # lines: cut at a line break
    text = fit_description(body, keep=keep)
    assert len(text.encode("utf-8")) <= 5000 and problems(description=text) == {}
    assert text.endswith("\n\n" + keep) and body.startswith(text[: -len(keep) - 2])
    one_line = fit_description(PORTUGUESE, keep=keep)  # one long line: cut after a word, marked
    assert len(one_line.encode("utf-8")) <= 5000 and one_line.endswith(keep)
    head = one_line[: -len(keep) - 2]
    assert head.endswith("…") and PORTUGUESE.startswith(head[:-1]) and head[-2] != " "
    assert fit_description("Short.", keep=keep) == "Short.\n\n" + keep
    assert fit_description("", keep=keep) == keep
    assert fit_description(f"Mine.\n\n{keep}", keep=keep) == f"Mine.\n\n{keep}"  # kept already: not twice
    assert fit_description("<b>Bold</b> claim > 3") == "Bold claim 3"


def test_full_description_adds_the_disclosure_only_when_missing():
    assert full_description("Mine.", "How made.") == "Mine.\n\nHow made."
    assert full_description("Mine.\n\nHow made.", "How made.") == "Mine.\n\nHow made."
    assert full_description("Mine.", "") == "Mine."


def test_tags_are_counted_the_way_youtube_counts_them():
    assert tags_length([]) == 0
    assert tags_length(["space"]) == 5
    assert tags_length(["space", "nasa"]) == 5 + 1 + 4  # the comma between them counts
    assert tags_length(["history of Brazil"]) == 17 + 2  # a tag with a space counts its quotes
    tags = ["x" * 48] * 10  # 480 + 9 commas = 489
    assert problems(tags=tags) == {}
    assert problems(tags=tags + ["a b c d e"]) == {  # 489 + a comma + 9 + 2 quotes
        "tags": "501 characters as YouTube counts them (a comma between tags, 2 more for a tag with a space); "
        "YouTube allows 500 — remove tags or shorten them by 1"
    }


def test_fit_tags_cleans_drops_repeats_and_fits_500():
    assert fit_tags(["Space", " <b>NASA</b> ", "space", "", "{\\an8}", "Hubble  telescope"]) == [
        "Space",
        "NASA",
        "Hubble telescope",
    ]
    many = [f"tag number {i:02d}" for i in range(40)]  # 15 characters each, 2 for quotes, 1 comma
    fitted = fit_tags(many)
    assert fitted == many[: len(fitted)] and tags_length(fitted) <= 500 < tags_length(many[: len(fitted) + 1])
    assert problems(tags=fitted) == {}


def test_title_messages_say_what_to_fix():
    assert problems(title="x" * 112) == {"title": "112 characters; YouTube allows 100 — shorten it by 12"}
    assert problems(title="  ") == {"title": "empty; YouTube needs 1-100 characters"}
    assert problems(title="Hubble <3") == {"title": "remove < and > (YouTube refuses them)"}
    assert problems(description="a > b") == {"description": "remove < and > (YouTube refuses them)"}
    assert problems(tags=["ok", "<b>"]) == {"tags": "remove < and > from '<b>' (YouTube refuses them)"}
    assert problems("x" * 100, "d", ["t"]) == {} and problems() == {}


def test_fit_title_cuts_on_a_word_and_is_never_empty():
    long = "The Hubble Space Telescope — " + "a very long story of mirrors and repairs " * 4
    title = fit_title(long, default="Hubble")
    assert len(title) <= 100 and long.startswith(title) and long[len(title)] == " "
    assert fit_title("A — B " + "x" * 120, default="d") == "A — B " + "x" * 94  # no space late enough: cut
    assert fit_title("x" * 60 + " — " + "y" * 50, default="d") == "x" * 60  # no dangling dash
    assert fit_title("<b></b>{\\an8}", default="  The <i>Hubble</i>  ") == "The Hubble"
    with pytest.raises(ValueError, match="empty once cleaned"):
        fit_title("<br>", default="<>")


def test_hostile_text_becomes_plain_text_youtube_takes():
    plain = clean(HOSTILE)
    assert plain == (
        "The Hubble Space Telescope at 100% \\ C:\\temp '; DROP TABLE productions; -- ../../etc/passwd "
        "&amp; a b"
    )
    assert not any(c in plain for c in "<>") and "{\\" not in plain and "alert" not in plain
    assert clean("tab\there\x00 and\r\nnew line\x1b[31m") == "tab here and new line [31m"
    assert clean("one\r\n\r\n\r\n\ttwo  words\n<p>three</p>", lines=True) == "one\n\ntwo words\nthree"
    title, description, tags = fit_title(HOSTILE, "x"), fit_description(HOSTILE), fit_tags([HOSTILE, "ok"])
    assert problems(title, description, tags) == {}
    assert "%" in title and "\\" in title and "'; DROP TABLE productions; --" in description
    assert problems(HOSTILE, HOSTILE, [HOSTILE]).keys() == {"title", "description", "tags"}
