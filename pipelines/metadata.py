"""YouTube's rules for a video's title, description and tags, in one place: what nicheflow proposes is fitted
to them (`fit_title`, `fit_description`, `fit_tags`), what a person edits is checked against them
(`problems`), and text from outside (a topic, a model's title) is made plain first (`clean`).

The limits (the YouTube Data API refuses anything over them with invalidTitle, invalidDescription or
invalidTags): a title of 1-100 characters; a description of at most 5000 bytes in UTF-8 (so fewer
characters in Portuguese, where accented letters take 2 bytes); tags of at most 500 characters in all,
counted YouTube's way (a comma between two tags counts, and a tag with a space counts 2 more, for the
quotes YouTube puts around it). None of the three may contain `<` or `>`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

log = logging.getLogger(__name__)

TITLE_MAX = 100  # characters
DESCRIPTION_MAX_BYTES = 5000  # bytes in UTF-8
TAGS_MAX = 500  # characters, as tags_length counts them
TOPIC_MAX = 200  # characters of a topic once plain: it seeds the title and is the first thing spoken
TOPIC_INPUT_MAX = 1000  # characters of a topic as typed, markup included: the trigger form refuses more
ANGLES = "<>"
# explicit bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): invisible, they
# make a title read in another order than it is written (U+202E turns "mp4.exe" into "exe.4pm")
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SEPARATOR = "\n\n"  # between a description's body and the part it keeps whole

# a <script> or <style> element with its code; a comment; a tag: <b>, </p>, <br/>, <!DOCTYPE html>,
# <?xml ...?> (not the "< b" of "a < b")
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
_ASS = re.compile(r"\{[^{}]*\\[^{}]*\}")  # subtitle override blocks: {\an8}, {\b1}, {\c&H00FF00&\i1}
_TRAILING = " ,;:-–—|/"  # what a cut title should not end with


def clean(text: str, lines: bool = False) -> str:
    """`text` as plain text: HTML/XML tags removed (a <script> or <style> element with its content), subtitle
    override blocks such as {\\an8} removed, any leftover < or > removed, bidirectional controls (BIDI_CONTROLS)
    removed, control characters (line breaks and tabs too) turned into spaces and whitespace collapsed to
    single spaces. With `lines`, line breaks
    stay (at most one blank line in a row). Everything else stays: %, &, quotes, backslashes outside
    override blocks."""
    text = _ASS.sub("", _TAG.sub("", _COMMENT.sub("", _CODE.sub("", text))))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    keep = "\n" if lines else ""
    text = "".join(
        " " if ch == "\t" or (unicodedata.category(ch) == "Cc" and ch not in keep) else ch
        for ch in text
        if ch not in ANGLES and ch not in BIDI_CONTROLS
    )
    if not lines:
        return " ".join(text.split())
    rows = [" ".join(row.split()) for row in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(rows)).strip()


def removed_by_clean(text: str) -> list[str]:
    """What clean(text) takes out of `text` besides whitespace, in words for the person who wrote it (empty
    when it is plain text already)."""
    untagged = _ASS.sub("", _TAG.sub("", _COMMENT.sub("", _CODE.sub("", text))))
    return [
        what
        for what, there in (
            ("HTML tags", any(r.search(text) for r in (_CODE, _COMMENT, _TAG))),
            ("subtitle override tags such as {\\an8}", _ASS.search(text) is not None),
            ("< and >", _angled(untagged)),
            ("bidirectional override characters", any(ch in BIDI_CONTROLS for ch in text)),
            (
                "control characters",
                any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in text),
            ),
        )
        if there
    ]


def has_words(text: str) -> bool:
    """Whether `text` has a letter or a digit: something to title a video with and to say."""
    return any(ch.isalnum() for ch in text)


def tags_length(tags: Iterable[str]) -> int:
    """Tags' length as YouTube counts it: every character, a comma between two tags, and 2 more for a tag
    with a space in it (YouTube quotes it)."""
    tags = list(tags)
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def problems(
    title: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    keep: str = "",
) -> dict[str, str]:
    """What YouTube would refuse in this title, description and tags (None: not checked), as field ->
    what to fix; empty when YouTube takes all of them. The description's size is that of
    full_description(description, keep): with the how-made disclosure added back when it lacks it."""
    found: dict[str, list[str]] = {"title": [], "description": [], "tags": []}
    if title is not None:
        n = len(title)
        if not title.strip():
            found["title"].append(f"empty; YouTube needs 1-{TITLE_MAX} characters")
        elif n > TITLE_MAX:
            found["title"].append(
                f"{n} characters; YouTube allows {TITLE_MAX} — shorten it by {n - TITLE_MAX}"
            )
        if _angled(title):
            found["title"].append("remove < and > (YouTube refuses them)")
    if description is not None:
        full = full_description(description, keep)
        size = len(full.encode("utf-8"))
        if size > DESCRIPTION_MAX_BYTES:
            added = ""
            if full != description:
                added = f" with the how-made disclosure added back ({len(keep.encode('utf-8')):,} bytes)"
            hint = " (accented letters take 2)" if size > len(full) else ""
            found["description"].append(
                f"{size:,} bytes in UTF-8{added}; YouTube allows {DESCRIPTION_MAX_BYTES:,} — cut about "
                f"{size - DESCRIPTION_MAX_BYTES:,} bytes{hint}"
            )
        if _angled(description):
            found["description"].append("remove < and > (YouTube refuses them)")
    if tags is not None:
        n = tags_length(tags)
        if n > TAGS_MAX:
            found["tags"].append(
                f"{n} characters as YouTube counts them (a comma between tags, 2 more for a tag with a "
                f"space); YouTube allows {TAGS_MAX} — remove tags or shorten them by {n - TAGS_MAX}"
            )
        angled = [t for t in tags if _angled(t)]
        if angled:
            found["tags"].append(
                f"remove < and > from {', '.join(repr(t) for t in angled)} (YouTube refuses them)"
            )
    return {field: "; ".join(msgs) for field, msgs in found.items() if msgs}


def fit_title(text: str, default: str) -> str:
    """`text` as a title YouTube takes: cleaned, then cut on a word boundary to at most 100 characters. When
    nothing is left, `default` fitted the same way; ValueError when that is empty too."""
    for candidate in (text, default):
        title = clean(candidate)
        if len(title) > TITLE_MAX:
            head = title[: TITLE_MAX + 1]
            space = head.rfind(" ")
            title = (head[:space] if space >= TITLE_MAX // 2 else head[:TITLE_MAX]).rstrip(_TRAILING)
        if title:
            return title
    raise ValueError(f"no title: {text!r} and the default {default!r} are empty once cleaned")


def full_description(body: str, keep: str = "") -> str:
    """The description before any cut: `body`, a blank line and `keep`; `body` alone when it already
    carries `keep` (an edited description that kept the how-made disclosure)."""
    if clean(keep, lines=True) in clean(body, lines=True):
        return body
    return body.rstrip() + SEPARATOR + keep if body.strip() else keep


def fit_description(body: str, keep: str = "") -> str:
    """full_description(body, keep) as a description YouTube takes: cleaned (line breaks kept), at most 5000
    bytes in UTF-8. Only `body` is cut (at a line break, else after a word, marked with …), so `keep` (the
    how-made disclosure) stays whole; only a `keep` over the limit by itself is cut (and logged)."""
    body, keep = clean(body, lines=True), clean(keep, lines=True)
    if keep in body:  # nothing to add (also when keep is empty)
        return _cut(body, DESCRIPTION_MAX_BYTES)
    room = DESCRIPTION_MAX_BYTES - len((SEPARATOR + keep).encode("utf-8"))
    if room < 0:
        log.warning("a description's kept part is over %d bytes by itself: cut", DESCRIPTION_MAX_BYTES)
        return _cut(keep, DESCRIPTION_MAX_BYTES)
    head = _cut(body, room)
    return head + SEPARATOR + keep if head else keep


def _cut(text: str, room: int) -> str:
    """The start of `text` in at most `room` bytes of UTF-8, never splitting a letter: up to its last line
    break when that keeps at least half, else up to its last space (or anywhere) and then an ellipsis."""
    data = text.encode("utf-8")
    if len(data) <= room:
        return text
    head = data[:room].decode("utf-8", "ignore")
    line = head.rfind("\n")
    if line >= len(head) // 2:
        return head[:line].rstrip()
    head = data[: max(room - len("…".encode()), 0)].decode("utf-8", "ignore")
    space = head.rfind(" ")
    head = (head[:space] if space >= len(head) // 2 else head).rstrip()
    return head + "…" if head else ""


def fit_tags(tags: Iterable[str]) -> list[str]:
    """`tags` as YouTube takes them: each cleaned, empty ones and repeats (in any case) dropped, in order,
    then tags dropped from the end until they fit in 500 characters (tags_length)."""
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        t = clean(tag)
        if t and t.casefold() not in seen:
            seen.add(t.casefold())
            out.append(t)
    while tags_length(out) > TAGS_MAX:
        out.pop()
    return out


def _angled(text: str) -> bool:
    return any(ch in text for ch in ANGLES)
