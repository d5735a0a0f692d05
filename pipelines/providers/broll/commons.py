"""Wikimedia Commons as a b-roll provider: photos and clips of the subject itself, with free licences only.

One request per search, GET {base_url}/w/api.php (the MediaWiki Action API, as research's Wikipedia):
`generator=search` in the File namespace (6), `gsrsearch` the query plus CirrusSearch's `filetype:bitmap`
(photos) or `filetype:video` (WebM and Ogg clips), with
- photos: `prop=imageinfo&iiprop=url|size|mime|extmetadata&iiurlwidth=1920`: the rendition downloaded is
  Commons' scaled thumbnail at most 1920 wide (never upscaled: a smaller original comes as itself);
- clips: `prop=videoinfo&viprop=url|size|mime|extmetadata|derivatives`: the rendition downloaded is the
  narrowest transcode at least `min_width` wide (WebM before Ogg), else the original. The renderer
  reads WebM and Ogg through ffmpeg like any clip.

Licence, author and source come from the file's `extmetadata` (LicenseShortName, License, LicenseUrl,
UsageTerms, Artist, Credit, AttributionRequired, Copyrighted, NonFree). Only public domain (PD, CC0) and
CC BY / CC BY-SA (any version, ported ones too) are used; anything else (NC/ND, GFDL only, fair use, no
licence, a licence that contradicts itself) is refused, and so is a file narrower than `min_width` or not
landscape: each refusal is logged with the file and why. The attribution is what the licence asks for,
in the form Commons suggests ("<title>" by <author>, CC BY-SA 4.0 <licence url>, via Wikimedia Commons);
the stage credits it with the file's page (`url`), so the description's line is complete. Public domain
files get the same credit as a courtesy.

Wikimedia refuses requests without a descriptive User-Agent (403): this one names the tool and a contact.
Search answers are kept for 24 hours in `search_cache`, as stock does; ids are Commons page ids, stable
across renames, so the channel's repeat window holds."""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
from pathlib import Path, PurePosixPath

import httpx

from pipelines.files import atomic_write_text
from pipelines.providers.broll.base import Candidate, fits
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RetryPolicy,
    json_body,
    make_client,
    send,
)

log = logging.getLogger(__name__)
DEFAULT_BASE = "https://commons.wikimedia.org"
USER_AGENT = "nicheflow/0.1 (b-roll from Wikimedia Commons; contact: operator)"
RENDITION = 1920  # widest photo rendition fetched: the frame's width (a Commons standard thumbnail size)
PER_SEARCH = 20
SEARCH_TTL = 24 * 3600
_META = (
    "LicenseShortName|License|LicenseUrl|UsageTerms|Artist|Credit|AttributionRequired|Copyrighted|"
    "NonFree|ImageDescription|ObjectName|Categories"
)
_LANG = {"en": "en", "pt-BR": "pt-br"}
_BUSY_CODES = {"maxlag", "ratelimited", "readonly"}
_PHOTO_MIMES = {"image/jpeg", "image/png", "image/webp", "image/tiff"}
_CC = re.compile(r"cc-(by(?:-sa)?)-(\d(?:\.\d)?)(?:-([a-z]{2}))?(?:-[a-z-]+)?")
_PD = re.compile(r"(pd|public-domain|cc0|cc-zero|cc0-1\.0)(-.*)?")

# -- licences -------------------------------------------------------------------------------------------


def plain(value: str) -> str:
    """Text of an extmetadata HTML value: tags stripped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", value or "")).split())


def _meta(info: dict, key: str) -> str:
    field = (info.get("extmetadata") or {}).get(key) or {}
    value = field.get("value") if isinstance(field, dict) else field
    return str(value if value is not None else "").strip()


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")


def licence_of(info: dict) -> tuple[str, str | None] | str:
    """(licence name, licence URL or None for public domain) when the file's licence is one nicheflow uses
    (public domain, CC0, CC BY, CC BY-SA), else why it is refused."""
    short = plain(_meta(info, "LicenseShortName"))
    code = _meta(info, "License").lower()
    shown = short or code or plain(_meta(info, "UsageTerms"))
    if _true(_meta(info, "NonFree")) or "fair use" in f"{short} {code}".lower():
        return f"non-free ({shown or 'marked non-free'}): not used"
    forms = [f for f in (code, re.sub(r"[\s_]+", "-", short.lower())) if f]  # "cc-by-sa-4.0", "CC BY-SA 4.0"
    norm = " ".join(forms)
    if m := next(filter(None, (_CC.fullmatch(f) for f in forms)), None):
        kind, version, place = m.group(1), m.group(2), m.group(3)
        version = version if "." in version else f"{version}.0"
        name = f"CC {kind.upper()} {version}" + (f" {place.upper()}" if place else "")
        url = _meta(info, "LicenseUrl")
        url = "https:" + url if url.startswith("//") else url
        if not re.match(r"https?://creativecommons\.org/licenses/", url):
            url = f"https://creativecommons.org/licenses/{kind}/{version}/" + (f"{place}/" if place else "")
        return name, url
    if any(_PD.fullmatch(f) for f in forms):
        if _true(_meta(info, "Copyrighted")):
            return f"says {shown!r} but also that it is copyrighted: not used"
        return ("CC0" if "cc0" in norm or "zero" in norm else "Public domain"), None
    if not shown:
        return "no licence in its metadata: not used"
    if "gfdl" in norm:
        return f"{shown}: GFDL only (it wants its whole text with every copy): not used"
    if re.search(r"(^|-)(nc|nd)(-|$)", norm.replace(" ", "-")):
        return f"{shown}: non-commercial or no-derivatives: not used"
    return f"{shown}: not a licence nicheflow uses (public domain, CC0, CC BY, CC BY-SA)"


def file_title(page_title: str) -> str:
    """ "File:Santos-Dumont 14-bis 1906.jpg" -> "Santos-Dumont 14-bis 1906"."""
    name = page_title.split(":", 1)[1] if ":" in page_title else page_title
    return PurePosixPath(name).stem if PurePosixPath(name).suffix else name


def attribution(title: str, author: str, licence: str, licence_url: str | None) -> str:
    """The credit the licence asks for (title, author, licence with its URL, Commons); the stage adds the
    file's page after it."""
    by = f" by {author}" if author else ""
    named = f"{licence} {licence_url}" if licence_url else licence
    return f'"{title}"{by}, {named}, via Wikimedia Commons'


# -- names ---------------------------------------------------------------------------------------------

_JOINERS = {"of", "de", "da", "do", "dos", "das", "von", "van", "del", "la", "le"}
_NOT_NAMES = set(
    """the a an in on at of and but for from to by with his her its their this that these those he she it
    they we you there here when where what who how why after before then while as o os um uma e em no na
    nos nas do da dos das de ao aos pelo pela com por para que se ele ela eles elas este esta isso aqui
    depois antes quando onde como mas""".split()
)
_TOKEN = re.compile(r"[^\W_](?:[\w'’-]*\w)?|[.!?;:,]")
_NUMERAL = re.compile(r"\d+|[IVXL]+")
_YEAR = re.compile(r"1\d{3}|20\d{2}")
_ENDS = {".", "!", "?"}


def _tokens(text: str) -> list[str]:
    return [re.sub(r"['’]s$", "", t) for t in _TOKEN.findall(text)]


def _capital(word: str) -> bool:
    return word[:1].isupper() and word.casefold() not in _NOT_NAMES


def _unique(words: list[str]) -> list[str]:
    first: dict[str, str] = {}
    for w in words:
        first.setdefault(w.casefold(), w)
    return list(first.values())


def names(text: str, context: str = "") -> list[str]:
    """The names and years `text` mentions, first seen first, as written: runs of capitalised words (joined
    by "of", "de", ... and ended by a number or numeral: "Apollo 11", "Saturn V", "Torre de Belém"), words
    with digits ("14-bis"), years. A lone word that opens a sentence ("Astronomers watched") is a name only
    when it is capitalised elsewhere too, mid-sentence, in `text` or `context`."""
    tokens = _tokens(text)
    both = [*tokens, ".", *_tokens(context)]
    inside = {t.casefold() for k, t in enumerate(both) if k and both[k - 1] not in _ENDS and _capital(t)}
    found: list[str] = []
    i, opening = 0, True
    while i < len(tokens):
        t = tokens[i]
        if not t[0].isalnum():
            i, opening = i + 1, t in _ENDS
            continue
        if _YEAR.fullmatch(t) or (re.search(r"\d", t) and re.search(r"[^\W\d_]", t)):
            found.append(t)
        elif _capital(t):
            run, j = [t], i + 1
            while j < len(tokens):
                nxt = tokens[j]
                if _capital(nxt):
                    run.append(nxt)
                elif nxt in _JOINERS and j + 1 < len(tokens) and _capital(tokens[j + 1]):
                    run += [nxt, tokens[j + 1]]
                    j += 1
                elif _NUMERAL.fullmatch(nxt) and not _YEAR.fullmatch(nxt):
                    run.append(nxt)
                    j += 1
                    break
                else:
                    break
                j += 1
            if not (opening and len(run) == 1 and "-" not in t and t.casefold() not in inside):
                found.append(" ".join(run))
            i = j - 1
        i, opening = i + 1, False
    return _unique(found)


def subject_queries(cue: str, text: str) -> list[str]:
    """Commons queries for a segment's subject, most specific first: up to three of the names and years its
    visual cue and narration mention (the cue's first, names before years), then two names, then the first
    alone. A name inside a longer one ("Hubble", "Hubble Space Telescope") counts once; [] when it names
    nothing but years."""
    found = _unique([*names(cue, text), *names(text, cue)])
    words = [set(n.casefold().split()) for n in found]
    found = [n for n, w in zip(found, words, strict=True) if not any(w < other for other in words)]
    named = [n for n in found if not _YEAR.fullmatch(n)]
    if not named:
        return []
    ordered = named + [n for n in found if _YEAR.fullmatch(n)]
    return list(dict.fromkeys([" ".join(ordered[:3]), " ".join(named[:2]), named[0]]))


# -- the provider -------------------------------------------------------------------------------------


class Commons:
    """Wikimedia Commons photos and clips under free licences (see the module's docstring)."""

    name = "commons"

    def __init__(
        self,
        *,
        language: str = "en",
        min_width: int = 1280,
        base_url: str | None = None,
        search_cache: Path | None = None,
        user_agent: str = USER_AGENT,
        timeout: float = 15,
        max_attempts: int = 4,
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
    ):
        self.language = language
        self.min_width = min_width
        self.width = max(RENDITION, min_width)
        self.base_url = (base_url or DEFAULT_BASE).rstrip("/")
        self.search_cache = search_cache
        self.user_agent = user_agent
        self.timeout = timeout
        self.policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, retry_after_cap=retry_after_cap)
        self._refused: set[str] = set()
        self.calls = 0  # API requests sent (queries its cache did not answer), for the cost of a video

    def __repr__(self) -> str:
        return f"Commons(base_url={self.base_url!r})"

    def subject_terms(self, visual_cue: str, text: str) -> list[str]:
        """What the b-roll stage asks Commons first for a segment (its visual cue and narration): the names
        and years it mentions (the stock sites rarely have Santos-Dumont's 14-bis; Commons does)."""
        return subject_queries(visual_cue, text)

    # -- API ------------------------------------------------------------------------------------------

    def _reject(self, response: httpx.Response) -> ProviderError | None:
        if response.status_code == 403:
            return ProviderRejected(
                self.name,
                403,
                f"{self.base_url} refused the request. Wikimedia blocks requests without a descriptive "
                f"User-Agent with a contact: set NICHEFLOW_CONTACT to your e-mail or URL (now {self.user_agent!r})",
            )
        if response.status_code == 404:
            return ProviderRejected(self.name, 404, f"no MediaWiki API at {self.base_url}/w/api.php")
        return None

    def _query(self, params: dict) -> dict:
        params = {"action": "query", "format": "json", "formatversion": "2", **params}
        cached = None
        if self.search_cache:
            digest = hashlib.sha1(json.dumps([self.base_url, params], sort_keys=True).encode()).hexdigest()
            cached = self.search_cache / f"{self.name}-{digest}.json"
            if cached.is_file() and time.time() - cached.stat().st_mtime < SEARCH_TTL:
                return json.loads(cached.read_text(encoding="utf-8"))
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        self.calls += 1
        with make_client(timeout=self.timeout, headers=headers, base_url=self.base_url) as client:
            response = send(
                client, "GET", "/w/api.php", provider=self.name, policy=self.policy, params=params,
                reject=self._reject,
            )  # fmt: skip
        data = json_body(response, self.name)
        if "error" in data:  # MediaWiki reports API errors with HTTP 200
            err = data["error"] if isinstance(data["error"], dict) else {}
            code = str(err.get("code", "?"))
            busy = code.startswith("internal_api_error") or code in _BUSY_CODES
            raise (ProviderUnavailable if busy else ProviderRejected)(
                self.name,
                response.status_code,
                f"MediaWiki API error {code!r}: {err.get('info', data['error'])}"
                + ("; try again later" if busy else "; the request needs fixing, not retrying"),
            )
        if cached:
            atomic_write_text(cached, json.dumps(data))
        return data

    def _pages(self, query: str, kind: str) -> list[dict]:
        p = "ii" if kind == "image" else "vi"
        params = {
            "generator": "search",
            "gsrsearch": f"{' '.join(query.split())[:250]} filetype:{'bitmap' if kind == 'image' else 'video'}",
            "gsrnamespace": "6",
            "gsrlimit": str(PER_SEARCH),
            "prop": "imageinfo" if kind == "image" else "videoinfo",
            f"{p}prop": "url|size|mime|extmetadata" + ("" if kind == "image" else "|derivatives"),
            f"{p}extmetadatafilter": _META,
            f"{p}extmetadatalanguage": _LANG.get(self.language, "en"),
        }
        if kind == "image":
            params["iiurlwidth"] = str(self.width)
        pages = (self._query(params).get("query") or {}).get("pages") or []  # no hits: no "query" at all
        if isinstance(pages, dict):  # formatversion=1's shape, keyed by page id
            pages = list(pages.values())
        return sorted(pages, key=lambda pg: pg.get("index", 0))  # search rank; pages come by page id

    def search(self, query: str, kind: str, orientation: str = "landscape") -> list[Candidate]:
        """Freely licensed `kind` ("image" or "video") files for `query` of `orientation` (landscape: at
        least `min_width` wide; portrait: that tall), in Commons' search order; the refused ones are logged
        with why."""
        try:
            found: list[Candidate] = []
            for page in self._pages(query, kind):
                c = self._candidate(page, kind, orientation)
                if isinstance(c, str):
                    self._refuse(str(page["title"]), c)
                else:
                    found.append(c)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise ProviderRejected(
                self.name,
                None,
                f"unexpected answer to a {kind} search ({type(e).__name__}: {e}); "
                f"is {self.base_url} the Commons API?",
            ) from e
        return found

    def _rendition(self, info: dict, kind: str) -> tuple[str, int, int]:
        """(download URL, width, height) of the file's rendition to fetch: a photo's scaled thumbnail (or
        itself), a clip's narrowest transcode at least `min_width` wide (WebM first), else the original."""
        if kind == "image":
            if info.get("thumburl"):
                return info["thumburl"], int(info.get("thumbwidth") or 0), int(info.get("thumbheight") or 0)
            return info.get("url", ""), int(info.get("width") or 0), int(info.get("height") or 0)
        wide = [
            (0 if d["type"].startswith("video/webm") else 1, int(d["width"]), d["src"], int(d["height"]))
            for d in info.get("derivatives") or []
            if d.get("src")
            and str(d.get("type", "")).startswith(("video/webm", "video/ogg", "video/mp4"))
            and int(d.get("width") or 0) >= self.min_width
        ]
        if wide:
            _, w, src, h = min(wide, key=lambda d: (d[1], d[0]))
            return src, w, h
        return info.get("url", ""), int(info.get("width") or 0), int(info.get("height") or 0)

    def _refuse(self, title: str, why: str) -> None:
        if title not in self._refused:  # once per stage run, however many searches find it
            self._refused.add(title)
            log.info("commons: %s refused: %s", title, why)

    def _candidate(self, page: dict, kind: str, orientation: str = "landscape") -> Candidate | str:
        """The page's file as a candidate, or why it is refused."""
        title = str(page["title"])
        info = (page.get("imageinfo") or page.get("videoinfo") or [{}])[0]
        mime = str(info.get("mime") or "")
        if (
            (mime not in _PHOTO_MIMES)
            if kind == "image"
            else not mime.startswith(("video/", "application/ogg"))
        ):
            return f"{mime or 'no type'} is not a {kind} nicheflow can use"
        licence = licence_of(info)
        if isinstance(licence, str):
            return licence
        name, licence_url = licence
        w, h = int(info.get("width") or 0), int(info.get("height") or 0)
        rendition = self._rendition(info, kind)
        if not (
            fits(w, h, orientation, self.min_width) and fits(*rendition[1:], orientation, self.min_width)
        ):
            side = "tall" if orientation == "portrait" else "wide"
            return f"{w}x{h}, not {orientation} and at least {self.min_width} {side}"
        credit = plain(_meta(info, "Credit"))
        author = plain(_meta(info, "Artist")) or ("" if credit.casefold() in ("", "own work") else credit)
        if not author and licence_url and not _meta(info, "AttributionRequired").lower() == "false":
            return f"{name} asks for the author, and its metadata names none"
        src, rw, rh = rendition
        label = file_title(title)
        description = plain(_meta(info, "ImageDescription"))
        return Candidate(
            source=self.name,
            id=str(page["pageid"]),
            kind=kind,
            width=rw,
            height=rh,
            duration=float(info["duration"]) if info.get("duration") else None,
            url=info.get("descriptionurl") or f"{DEFAULT_BASE}/wiki/{title.replace(' ', '_')}",
            download=src,
            description=(description[:200] + "…" if len(description) > 200 else description) or label,
            tags=f"{label} {plain(_meta(info, 'ObjectName'))} {_meta(info, 'Categories').replace('|', ' ')}",
            licence=name,
            attribution=attribution(label, author, name, licence_url),
        )

    def fetch(self, candidate: Candidate) -> bytes:
        """The rendition's bytes from Wikimedia's file servers (redirects followed; no secret is sent)."""
        with make_client(
            timeout=max(self.timeout, 60), follow_redirects=True, headers={"User-Agent": self.user_agent}
        ) as client:
            return send(client, "GET", candidate.download, provider=self.name, policy=self.policy).content
