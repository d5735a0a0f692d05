"""Does each sentence's citation support it? A cheap, deterministic check (no network, no model).

`check(script, facts)` returns one flag per problem found:
  {"segment": i, "sentence": j, "text": ..., "problem": ...}
with i, j 0-based indexes into `script.segments[i].sentences[j]`. The hook is checked too, as an
uncited sentence; its flags carry "segment": None, "sentence": None.

Problems:
- a cited id that is not among the given facts;
- a number in the sentence (year, count, 1,500 / 1.500, 2.5 / 2,5) that none of its cited facts contains;
- a citing sentence that shares too few content words with its cited facts (see `MIN_SHARE`,
  `MIN_SHARED`);
- a sentence that contains a digit but cites nothing (a factual-looking claim without a source).

Matching is language-agnostic enough for English and Portuguese: text is case-folded and accents are
stripped ("Independência" matches "independencia"), stop words of both languages and words shorter
than 3 letters are ignored, and words are compared by their first letters (`knowledge.text.content_stems`),
a crude stem that matches "launched"/"launch" and "proclamada"/"proclamou". It is a screen for the reviewer, not a
proof: a faithful paraphrase with new words can be flagged, and numbers written as words are not
compared with digits."""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.store import Fact
from knowledge.text import content_stems, numbers
from pipelines.providers.writer.base import Script

# A citing sentence is flagged when fewer than MIN_SHARE of its content words, or fewer than
# MIN_SHARED of them (or all of them, if it has fewer), appear in its cited facts.
MIN_SHARE = 0.3
MIN_SHARED = 2


def _check_sentence(
    text: str, ids: list[int], facts: Mapping[int, Fact], given: frozenset[str] = frozenset()
) -> list[str]:
    if not ids:  # numbers that are part of the given topic ("Apollo 11") are no claim
        return ["contains a number but cites no fact"] if numbers(text) - given else []
    problems = [f"cites fact {i}, which is not among the given facts" for i in ids if i not in facts]
    cited = [facts[i].claim for i in ids if i in facts]
    if not cited:
        return problems
    support = " ".join(cited)
    missing = sorted(numbers(text) - numbers(support))
    if missing:
        problems.append(
            f"number(s) {', '.join(missing)} appear in none of its cited facts "
            f"({', '.join(str(i) for i in ids)})"
        )
    mine = content_stems(text)
    if mine:
        shared = len(mine & content_stems(support))
        if shared < min(MIN_SHARED, len(mine)) or shared / len(mine) < MIN_SHARE:
            problems.append(
                f"shares only {shared} of its {len(mine)} content words with its cited facts "
                f"({', '.join(str(i) for i in ids)})"
            )
    return problems


def check(script: Script, facts: Mapping[int, Fact], topic: str = "") -> list[dict]:
    given = frozenset(numbers(topic))
    flags: list[dict] = [  # segment and sentence are None for the hook
        {
            "segment": None,
            "sentence": None,
            "text": script.hook,
            "problem": f"hook {p} (the hook cannot cite)",
        }
        for p in _check_sentence(script.hook, [], facts, given)
    ]
    for i, seg in enumerate(script.segments):
        for j, s in enumerate(seg.sentences):
            flags += [
                {"segment": i, "sentence": j, "text": s.text, "problem": p}
                for p in _check_sentence(s.text, s.fact_ids, facts, given)
            ]
    return flags
