"""Word error rate of what was heard against what was expected, for audio QA.

Both sides are normalised the same way before they are compared: case, punctuation, English contractions
("here's" = "here is"), numbers read for their value whether in digits or in words ("1969" = "nineteen
sixty-nine", "1.500" = "mil e quinhentos"), a few spelling variants. A real misreading (a singular for a
plural, another year) still counts."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import groupby

from pipelines.media.align import align

DIFF_CHUNKS = 3  # differing stretches a diff shows

_NUMBER = r"(\d+(?:[.,]\d+)*)(st|nd|rd|th|º|ª)?(%?)"
_TOKEN = re.compile(
    rf"(?P<num>{_NUMBER})|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)|(?P<percent>%)|(?P<join>-)|(?P<stop>\S)"
)
_SPELLING = {
    "en": [
        (re.compile(r"(?<=\w{3})tre(s?)$"), r"ter\1"),  # kilometre -> kilometer
        (re.compile(r"(?<=\w{3})is(e|es|ed|ing|ation|ations)$"), r"iz\1"),  # organise -> organize
    ]
}
_PERCENT = {"en": ["percent"], "pt-BR": ["por", "cento"]}

# English contractions: "here's" = "here is", "don't" = "do not". Both sides are written out, then contracted
# again the one way, so "it is not" = "it's not" = "it isn't" and a misheard contraction is one error, like the
# word it replaced. "'s" is a contraction only after words it cannot be the possessive of ("the telescope's
# mirror" is left alone); "he's" is "he is" or "he has", "he'd" "he would" or "he had": the same either way.
_CONTRACTED = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not",
    "let's": "let us", "y'all": "you all",
}  # fmt: skip
_SUFFIXES = {"n't": "not", "'re": "are", "'ve": "have", "'ll": "will", "'m": "am", "'d": "would", "'s": "is"}
_S_AFTER = set("it that there here what who where when why how he she".split())
_CONTRACT = {  # (word, next word) -> the one token they are compared as
    **{(w, "not"): w + "n't" for w in "do does did is are was were have has had could would should must need "
       "might".split()},
    ("can", "not"): "can't", ("will", "not"): "won't", ("shall", "not"): "shan't",
    **{(w, v): w + "'s" for w in _S_AFTER for v in ("is", "has")},
    **{(w, "are"): w + "'re" for w in "we you they who what there".split()},
    **{(w, "have"): w + "'ve" for w in "i we you they who could would should might must".split()},
    **{(w, "will"): w + "'ll" for w in "i we you they he she it that there who what".split()},
    **{(w, v): w + "'d" for w in "i we you they he she it that there who".split() for v in ("would", "had")},
    ("i", "am"): "i'm", ("let", "us"): "let's",
}  # fmt: skip


def _contractions(words: list[str]) -> list[tuple[str, str]]:
    """English words with their contractions made the one way, as tokens [(kind, text)]: a contraction is
    "plain" (never a number word: "it's"), the other words "word"."""
    full: list[str] = []
    for word in words:
        tail: list[str] = []
        while word not in _CONTRACTED:
            suffix = next((s for s in _SUFFIXES if word.endswith(s) and len(word) > len(s)), None)
            if suffix is None or (suffix == "'s" and word[:-2] not in _S_AFTER):
                break
            tail.insert(0, _SUFFIXES[suffix])
            word = word[: -len(suffix)]
        full += [*_CONTRACTED.get(word, word).split(), *tail]
    out: list[tuple[str, str]] = []
    k = 0
    while k < len(full):
        pair = _CONTRACT.get((full[k], full[k + 1] if k + 1 < len(full) else ""))
        out.append(("plain", pair) if pair else ("word", full[k]))
        k += 2 if pair else 1
    return out


def _words(kind: str, names: str, values) -> dict[str, tuple[str, int]]:
    return {w: (kind, v) for ws, v in zip(names.split(), values, strict=True) for w in ws.split("/")}


# Number words -> (kind, value). Kinds: unit 0-9, teen 10-19, ten 20-90, hundred (English, multiplies), hundreds
# (Portuguese, 100-900), scale (a thousand and up); English ordinals are "ord-" + the kind they stand in for,
# Portuguese ones ("ord") make numbers of their own ("vigésimo primeiro").
_NUMBER_WORDS = {
    "en": {
        **_words("unit", "zero one two three four five six seven eight nine", range(10)),
        **_words("teen", "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen",
                 range(10, 20)),
        **_words("ten", "twenty thirty forty fifty sixty seventy eighty ninety", range(20, 100, 10)),
        "hundred": ("hundred", 100),
        **_words("scale", "thousand million billion trillion", (10**3, 10**6, 10**9, 10**12)),
        **_words("ord-unit", "first second third fourth fifth sixth seventh eighth ninth", range(1, 10)),
        **_words("ord-teen", "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
                 "eighteenth nineteenth", range(10, 20)),
        **_words("ord-ten", "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth",
                 range(20, 100, 10)),
        "hundredth": ("ord-hundred", 100),
        **_words("ord-scale", "thousandth millionth billionth", (10**3, 10**6, 10**9)),
    },
    "pt-BR": {
        **_words("unit", "zero um/uma dois/duas três/tres quatro cinco seis sete oito nove", range(10)),
        **_words("teen", "dez onze doze treze catorze/quatorze quinze dezesseis/dezasseis dezessete/dezassete "
                 "dezoito dezenove/dezanove", range(10, 20)),
        **_words("ten", "vinte trinta quarenta cinquenta/cinqüenta sessenta setenta oitenta noventa",
                 range(20, 100, 10)),
        **_words("hundreds", "cem/cento duzentos/duzentas trezentos/trezentas quatrocentos/quatrocentas "
                 "quinhentos/quinhentas seiscentos/seiscentas setecentos/setecentas oitocentos/oitocentas "
                 "novecentos/novecentas", range(100, 1000, 100)),
        **_words("scale", "mil milhão/milhões bilhão/bilhões/bilião trilhão/trilhões",
                 (10**3, 10**6, 10**9, 10**12)),
        **_words("ord", "primeiro segundo terceiro quarto quinto sexto sétimo oitavo nono décimo vigésimo "
                 "trigésimo quadragésimo quinquagésimo sexagésimo septuagésimo/setuagésimo octogésimo "
                 "nonagésimo centésimo ducentésimo tricentésimo/trecentésimo quadringentésimo/quadrigentésimo "
                 "quingentésimo seiscentésimo/sexcentésimo septingentésimo/septigentésimo "
                 "octingentésimo/octigentésimo nongentésimo/noningentésimo milésimo",
                 [*range(1, 11), *range(20, 101, 10), *range(200, 1001, 100)]),
    },
}  # fmt: skip
_NUMBER_WORDS["pt-BR"] |= {w[:-1] + "a": v for w, v in _NUMBER_WORDS["pt-BR"].items() if v[0] == "ord"}
_AND = {"en": "and", "pt-BR": "e"}  # "one hundred and five", "vinte e dois"
_AND_AFTER = {"en": {"hundred", "scale"}, "pt-BR": {"ten", "hundreds", "scale"}}
_POINT = {"en": "point", "pt-BR": "vírgula"}  # "one point five", "três vírgula cinco"
_BEFORE_POINT = {"unit", "teen", "ten", "hundred", "hundreds", "scale"}
# the kinds of word each kind may follow inside one number (None: it starts the number)
_FOLLOWS = {
    "unit": {None, "ten", "hundred", "hundreds", "scale"},
    "teen": {None, "hundred", "hundreds", "scale"},
    "ten": {None, "hundred", "hundreds", "scale"},
    "hundreds": {None, "scale"},
    "hundred": {None, "unit", "teen", "ten", "digits"},
    "scale": {None, "unit", "teen", "ten", "hundred", "hundreds", "scale", "digits", "decimal"},
}


def _written(digits: str, language: str) -> list[Decimal] | None:
    """A number written in digits ("1,200" in English is "1.200" in Portuguese); its digit groups one by one
    when it is no single number (a version, a date: "3.11.4"); None when it is an identifier (over 15 digits)."""
    thousands, decimal = (",", ".") if language == "en" else (".", ",")
    if re.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+(\{decimal}\d+)?", digits):
        digits = digits.replace(thousands, "")
    if len(digits) > 15:
        return None
    if re.fullmatch(rf"\d+\{decimal}\d+", digits):
        return [Decimal(digits.replace(decimal, "."))]
    return [Decimal(g) for g in re.split(r"[.,]", digits)]


def _say(value: Decimal, ordinal: str, language: str) -> list[str]:
    """A number as compared: in words, one way whichever way it was written. English integers from 1100 to
    1999 as a year ("nineteen sixty-nine"); ordinals with their gender in Portuguese ("primeira")."""
    from num2words import num2words

    lang = "en" if language == "en" else "pt_BR"
    if value != value.to_integral_value():
        text = num2words(value.normalize(), lang=lang)
    elif ordinal:
        text = num2words(int(value), lang=lang, to="ordinal")
        text = re.sub(r"o\b", "a", text) if ordinal == "ª" else text
    elif language == "en" and 1100 <= value <= 1999:
        text = num2words(int(value), lang=lang, to="year")
    else:
        text = num2words(int(value), lang=lang)
    return re.findall(r"[^\W_]+", text)


class _Numbers:
    """The words of one text [(token kind, text)], each number read for its value, in digits or in words, and
    said one way: "1969", "nineteen sixty-nine", "nineteen sixty nine", "one thousand nine hundred and sixty-nine"
    -> nineteen sixty nine; "1,000", "a thousand" -> one thousand; "3rd" -> third; "1822", "mil oitocentos e
    vinte e dois" -> mil oitocentos e vinte e dois; "25%" -> twenty five percent."""

    def __init__(self, tokens: list[tuple[str, str]], language: str) -> None:
        self.tokens, self.language, self.vocab = tokens, language, _NUMBER_WORDS[language]

    def kind(self, k: int) -> tuple[str | None, int]:
        if k < len(self.tokens) and self.tokens[k][0] == "word":
            return self.vocab.get(self.tokens[k][1], (None, 0))
        return None, 0

    def words(self) -> list[str]:
        out: list[str] = []
        k = 0
        while k < len(self.tokens):
            kind, text = self.tokens[k]
            if kind == "num":
                m = re.fullmatch(_NUMBER, text)
                assert m is not None, "a num token is what _NUMBER matched"
                digits, ordinal, percent = m.groups()
                values = _written(digits, self.language)
                if values is None:
                    out.append(digits)
                elif len(values) == 1 and not ordinal and not percent:  # "1.5 million"
                    k, value, ordinal = self.number(k + 1, values[0])
                    out += _say(value, ordinal, self.language)
                    continue
                else:
                    out += [w for v in values for w in _say(v, ordinal or "", self.language)]
                out += _PERCENT[self.language] if percent else []
            elif kind == "percent":
                out += _PERCENT[self.language]
            elif self.kind(k)[0] or (
                text == "a" and self.language == "en" and self.kind(k + 1)[0] in ("hundred", "scale")
            ):
                end, value, ordinal = self.number(k)
                if end == k + 1 and not ordinal:
                    value, end = self.year(value, end)
                out += _say(value, ordinal, self.language)
                k = end
                continue
            elif kind in ("word", "plain"):  # "telescope's" = "telescopes", "it's" = "its": they sound alike
                out.append(text.replace("'", ""))
            k += 1
        return out

    def _and_joins(self, k: int, last: str | None) -> bool:
        """Whether the "and" at token k joins two parts of one number ("one hundred and six"), given the kind
        of the part before it."""
        following = self.kind(k + 1)[0]
        following = following and following.removeprefix("ord-")
        return bool(
            last in _AND_AFTER[self.language]
            and following in _FOLLOWS
            and last in _FOLLOWS[following]
            and (last != "ten" or following == "unit")
        )

    def number(self, k: int, digits: Decimal | None = None) -> tuple[int, Decimal, str]:
        """The number in words starting at token k, or continuing `digits` ("1.5 million"): (the token after
        it, its value, its ordinal ending or "")."""
        total, current, last, top = Decimal(0), Decimal(0), None, 10**15
        if digits is not None:
            current, last = digits, "digits"
        elif self.tokens[k][1] == "a":  # "a thousand"
            current, last, k = Decimal(1), "unit", k + 1
        while k < len(self.tokens):
            word = self.tokens[k][1]
            if word == _AND[self.language]:
                if not self._and_joins(k, last):
                    break
                k += 1
                continue
            if word == _POINT[self.language] and last in _BEFORE_POINT:
                after, decimals = self.decimals(k + 1)
                if not decimals:
                    break
                current = Decimal(f"{int(total + current)}.{decimals}")
                total, last, k = Decimal(0), "decimal", after
                continue
            kind, value = self.kind(k)
            if kind == "ord":
                return self.ordinal_pt(k) if last is None else (k, total + current, "")
            if kind is None or last not in _FOLLOWS[kind.removeprefix("ord-")]:
                break
            base = kind.removeprefix("ord-")
            added = self._add(base, value, last, total, current, top)
            if added is None:
                break
            (total, current, top), last, k = added, base, k + 1
            if kind.startswith("ord-"):
                return k, total + current, "th"
        return k, total + current, ""

    def _add(
        self, base: str, value: int, last: str | None, total: Decimal, current: Decimal, top: int
    ) -> tuple[Decimal, Decimal, int] | None:
        """(total, current, top) after a number word of kind `base`, or None when it cannot continue the
        number (a second "hundred", a scale no smaller than the last one)."""
        if base == "hundred":
            if current >= 100 or current != current.to_integral_value():
                return None
            return total, (current or Decimal(1)) * value, top
        if base == "scale":
            bare = current == 0 and (last is None or (self.language == "pt-BR" and value == 1000))
            if (current == 0 and not bare) or value >= top:  # "dois milhões e mil": a bare "mil"
                return None
            return total + (current or Decimal(1)) * value, Decimal(0), value
        return total, current + value, top

    def decimals(self, k: int) -> tuple[int, str]:
        """The digits after a decimal point said in words: "point one four", "vírgula vinte e cinco"."""
        digits = ""
        while self.kind(k)[0] == "unit" or (
            self.language == "en" and self.tokens[k : k + 1] == [("word", "oh")]
        ):
            digits, k = digits + str(self.kind(k)[1]), k + 1
        if not digits and self.kind(k)[0] in ("teen", "ten"):
            k, value, _ = self.number(k)
            digits = str(int(value))
        return k, digits

    def ordinal_pt(self, k: int) -> tuple[int, Decimal, str]:
        """A Portuguese ordinal: its words add up ("vigésimo primeiro" = 21º), each in a lower place."""
        value, place, word = 0, 10**4, ""
        while self.kind(k)[0] == "ord" and self.kind(k)[1] < place:
            word, n = self.tokens[k][1], self.kind(k)[1]
            value, place, k = value + n, 10 ** (len(str(n)) - 1), k + 1
        return k, Decimal(value), "ª" if word.endswith("a") else "º"

    def year(self, first: Decimal, k: int) -> tuple[Decimal, int]:
        """An English year said in halves, the first one word from ten to twenty: "nineteen sixty-nine" = 1969,
        "nineteen oh five" = 1905, "twenty twenty-four" = 2024. (first half, token after it) -> (value, token
        after it)."""
        if self.language != "en" or not 10 <= first <= 20:
            return first, k
        if k + 1 < len(self.tokens) and self.tokens[k][1] in ("oh", "o") and self.kind(k + 1)[0] == "unit":
            return first * 100 + self.kind(k + 1)[1], k + 2
        if self.kind(k)[0] in ("teen", "ten"):
            end, second, ordinal = self.number(k)
            if not ordinal and 10 <= second <= 99:
                return first * 100 + second, end
        return first, k


def normalise(text: str, language: str) -> list[str]:
    """The words of `text` as compared: lower case, no punctuation, English contractions one way ("here is" =
    "here's"), numbers said one way however they are written ("1969" = "nineteen sixty-nine"), one spelling.
    Singular and plural stay apart ("source" is not "sources"): a misread ending is a real error."""
    text = re.sub("[\u2018\u2019\u02bc]", "'", text.lower())
    tokens = [
        (kind, m.group(kind))
        for m in _TOKEN.finditer(text)
        for kind in ("num", "word", "percent", "stop")  # a hyphen joins: "sixty-nine" is one number
        if m.group(kind) is not None
    ]
    if language == "en":  # contractions, one run of words at a time: punctuation parts "it, is"
        runs = [list(g) for _, g in groupby(tokens, key=lambda t: t[0] == "word")]
        tokens = [
            t
            for run in runs
            for t in (
                _contractions(re.sub(r"\bper cent\b", "percent", " ".join(w for _, w in run)).split())
                if run[0][0] == "word"
                else run
            )
        ]
    else:  # "por cento" is "percent", not a hundred
        tokens = [
            ("plain", w) if (w == "cento" and tokens[k - 1 : k] == [("word", "por")]) else (kind, w)
            for k, (kind, w) in enumerate(tokens)
        ]
    words = _Numbers(tokens, language).words()
    for pattern, repl in _SPELLING.get(language, []):
        words = [pattern.sub(repl, w) for w in words]
    return words


def compare(expected_text: str, heard_text: str, language: str) -> dict:
    """WER of what was heard against what was expected, and a short diff of the differing words."""
    expected, heard = normalise(expected_text, language), normalise(heard_text, language)
    pairs = align(expected, heard)
    errors = sum(1 for i, j in pairs if i is None or j is None or expected[i] != heard[j])
    chunks: list[tuple[list[str], list[str]]] = []
    same = True
    for i, j in pairs:
        if i is not None and j is not None and expected[i] == heard[j]:
            same = True
            continue
        if same:
            chunks.append(([], []))
            same = False
        chunks[-1][0].extend([expected[i]] if i is not None else [])
        chunks[-1][1].extend([heard[j]] if j is not None else [])
    diff = "; ".join(
        f"expected \u201c{' '.join(e)}\u201d, heard \u201c{' '.join(h)}\u201d"
        if e and h
        else f"missing \u201c{' '.join(e)}\u201d"
        if e
        else f"extra \u201c{' '.join(h)}\u201d"
        for e, h in chunks[:DIFF_CHUNKS]
    ) + ("; \u2026" if len(chunks) > DIFF_CHUNKS else "")
    return {"wer": round(errors / max(1, len(expected)), 3), "diff": diff}
