"""Text rules shared by the knowledge base, research and grounding, for English and Brazilian Portuguese:
sentences, numbers and named entities.

Sentences: a full stop ends a sentence when the next word starts with a capital letter or a digit, unless the word
before it is an abbreviation that usually precedes a name or a number: a title ("Dr.", "Sr.", "Mal."), a
single initial ("D. Pedro", "John F. Kennedy"), a dotted abbreviation ("U.S.", "a.C.", "e.g."), or a
word that precedes a number ("No. 5", "p. 12", "Jan. 20"). A lone Roman numeral after a name ("Pedro I.")
still ends the sentence.

Only complete sentences become claims: 6 to 60 words, starting with a capital letter, a digit or a quote
and ending with . ! or ? (so snippets cut with "..." and list items without punctuation are dropped)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MIN_WORDS = 6
MAX_WORDS = 60

# Words that precede a capitalised name, so a following capital does not start a sentence.
_TITLES = {
    "en": {
        "mr",
        "mrs",
        "ms",
        "mx",
        "dr",
        "drs",
        "prof",
        "sr",
        "st",
        "mt",
        "ft",
        "gen",
        "gov",
        "sen",
        "rep",
        "col",
        "lt",
        "capt",
        "cmdr",
        "adm",
        "sgt",
        "cpl",
        "maj",
        "rev",
        "hon",
        "pres",
        "messrs",
        "mme",
        "mlle",
        "fr",
        "vs",
        "cf",
        "al",
    },
    "pt": {
        "sr",
        "sra",
        "srs",
        "sras",
        "srta",
        "dr",
        "dra",
        "drs",
        "dras",
        "prof",
        "profa",
        "profª",
        "pe",
        "fr",
        "frei",
        "gen",
        "cel",
        "cap",
        "ten",
        "maj",
        "sgt",
        "alm",
        "brig",
        "mal",
        "sto",
        "sta",
        "exmo",
        "exma",
        "ilmo",
        "ilma",
        "revmo",
        "mons",
        "dep",
        "sen",
        "gov",
        "pres",
        "min",
        "av",
        "séc",
        "sécs",
        "cia",
        "eng",
        "arq",
        "adv",
        "vs",
        "cf",
        "al",
    },
}
# Words that precede a number: "No. 5", "p. 12", "c. 1500", "Jan. 20".
_BEFORE_NUMBER = {
    "en": {
        "no",
        "nos",
        "vol",
        "vols",
        "p",
        "pp",
        "fig",
        "figs",
        "art",
        "ch",
        "sec",
        "c",
        "ca",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    },
    "pt": {
        "n",
        "nº",
        "núm",
        "vol",
        "p",
        "pp",
        "pág",
        "págs",
        "fig",
        "art",
        "cap",
        "c",
        "ca",
        "aprox",
        "jan",
        "fev",
        "mar",
        "abr",
        "mai",
        "jun",
        "jul",
        "ago",
        "set",
        "out",
        "nov",
        "dez",
    },
}
_ROMAN_ALONE = {"I", "V", "X"}

_LETTER = r"[^\W\d_]"
_CANDIDATE = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_DOTTED = re.compile(rf"(?:{_LETTER}{{1,2}}\.){{2,}}")  # U.S.  a.C.  d.C.  e.g.  U.S.A.
_OPENERS = "\"'“‘«(["
_STARTS_SENTENCE = re.compile(rf"[{re.escape(_OPENERS)}]*(?:[A-ZÀ-ÖØ-Þ]|\d)")
_COMPLETE_END = re.compile(r"(?<![.…])[.!?][\"'”’»)\]]*$")
_NOISE = ("{\\displaystyle", "\\frac", "{{")


def _lang(language: str) -> str:
    code = language.lower()
    if code.startswith("pt"):
        return "pt"
    if code.startswith("en"):
        return "en"
    raise ValueError(f"unsupported language {language!r}: use 'en' or 'pt-BR'")


def _is_abbreviation(before: str, punct: str, following: str, lang: str) -> bool:
    """Whether the full stop closing `before` belongs to an abbreviation rather than ending a sentence."""
    if punct != ".":
        return False
    token = before.rsplit(None, 1)[-1].lstrip(_OPENERS) if before.strip() else ""
    if not token:
        return False
    with_dot = token + "."
    core = token.casefold()
    if _DOTTED.fullmatch(with_dot):
        return True
    if core in _TITLES[lang]:
        return True
    if core in _BEFORE_NUMBER[lang] and following[:1].isdigit():
        return True
    if re.fullmatch(_LETTER, token):
        # An initial, unless it is a Roman numeral closing a name: "D. Pedro I. Em seguida ..."
        words = before.split()
        if token in _ROMAN_ALONE and len(words) >= 2 and words[-2][:1].isupper():
            return False
        return True
    return False


def split(text: str, language: str) -> list[str]:
    """Every sentence of `text` in order (no filtering). Lines are paragraphs; whitespace is collapsed."""
    lang = _lang(language)
    out: list[str] = []
    for line in text.splitlines():
        para = " ".join(line.split())
        if not para:
            continue
        start = 0
        for m in _CANDIDATE.finditer(para):
            following = para[m.end() :].lstrip()
            if not following or not _STARTS_SENTENCE.match(following):
                continue
            punct = m.group(0).rstrip("\"'”’»)]")
            if _is_abbreviation(para[start : m.start()], punct, following, lang):
                continue
            out.append(para[start : m.end()].strip())
            start = m.end()
        rest = para[start:].strip()
        if rest:
            out.append(rest)
    return out


def is_claim(sentence: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> bool:
    """A complete sentence of a sensible length: what the knowledge base can store as a fact."""
    n = len(sentence.split())
    return (
        min_words <= n <= max_words
        and bool(_STARTS_SENTENCE.match(sentence))
        and bool(_COMPLETE_END.search(sentence))
        and not any(s in sentence for s in _NOISE)
    )


def claim_sentences(
    text: str, language: str, *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[str]:
    """The sentences of `text` that can be claims, in order."""
    return [s for s in split(text, language) if is_claim(s, min_words, max_words)]


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")


def numbers(text: str) -> set[str]:
    """Numbers in a canonical form: thousands separators dropped ("1,000" and "1.000" are "1000"), a decimal
    comma as a point ("3,5" is "3.5")."""
    out = set()
    for n in _NUMBER.findall(text):
        out.add(re.sub(r"[.,]", "", n) if _THOUSANDS.fullmatch(n) else n.replace(",", "."))
    return out


_NAME_WORD = rf"[A-ZÀ-ÖØ-Þ]{_LETTER}*(?:[-'’][A-ZÀ-ÖØ-Þa-z]{_LETTER}*)?"
_CONNECTOR = r"(?:de|da|do|dos|das|of|the|von|van|e)"
_ENTITY = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_CONNECTOR}\s+)?{_NAME_WORD})*(?:\s+\d+)?")
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})\b")


def entities(sentence: str) -> list[str]:
    """Names in a sentence, in order: runs of capitalised words ("Neil Armstrong", "Apollo 11", "Pedro Álvares
    Cabral", "Júlio César") and years. A run that opens the sentence loses a leading article or preposition
    ("The Apollo program" gives "Apollo"); a single capitalised word opening it is not taken as a name."""
    out: list[str] = []
    opening = len(sentence) - len(sentence.lstrip(_OPENERS + " "))
    for m in _ENTITY.finditer(sentence):
        words = m.group(0).split()
        if m.start() == opening:
            if words[0].casefold() in _LEADING:
                words = words[1:]
            elif len(words) == 1:
                words = []
        name = " ".join(words)
        if len(name) > 1 and name[:1].isupper() and name not in out:
            out.append(name)
    out.extend(y for y in _YEAR.findall(sentence) if y not in out)
    return out


# Capitalised only because they open a sentence.
_LEADING = {
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "by",
    "after",
    "before",
    "during",
    "when",
    "its",
    "his",
    "her",
    "their",
    "this",
    "that",
    "these",
    "those",
    "o",
    "os",
    "as",
    "um",
    "uma",
    "em",
    "no",
    "na",
    "nos",
    "nas",
    "após",
    "depois",
    "durante",
    "quando",
    "seu",
    "sua",
    "seus",
    "suas",
    "este",
    "esta",
    "esse",
    "essa",
}


STEM = 5

_STOP = frozenset(
    """
the and for are was were with that this these those from has have had its his her their them they
which who whom whose into than then also but not been being after before over about more most when
where there here what would could should will can our your you all some only just very such other out
did does any each both while because through during between under again once how why per
que com por para uma uns umas dos das nos nas num numa foi era sao ser sua seu suas seus ele ela eles
elas isso isto este esta esse essa aquele aquela pelo pela pelos pelas entre tambem quando muito sobre
ate depois antes ainda onde mas como mais menos tem ter sem seja sido esta estava qual quais cada
""".split()
)

_WORD = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=16384)  # the questions test every fact six times; a query tests up to 60 facts
def fold(text: str) -> str:
    """Case-folded, accents stripped: "Independência" -> "independencia"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=16384)
def content_stems(text: str) -> frozenset[str]:
    """The text's content words (3+ letters, not a stop word of either language) cut to STEM letters, a crude
    stem that matches "launched"/"launch" and "proclamada"/"proclamou"."""
    return frozenset(w[:STEM] for w in _WORD.findall(fold(text)) if len(w) >= 3 and w not in _STOP)
