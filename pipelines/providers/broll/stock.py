"""Stock b-roll from Pexels and Pixabay: search photos and videos of one orientation, keep those large
enough, download.

An orientation is "landscape" (the long-form; the default) or "portrait" (a Short): a landscape file is
wider than tall and at least `min_width` wide, a portrait one taller than wide and at least `min_width`
tall (base.fits). Both services filter by it:
- Pexels: GET {base}/v1/search (photos) and {base}/videos/search (videos) with the key in the
  `Authorization` header; `orientation=landscape|portrait`, `locale`. Photos come as `src.large2x` (at most
  1880x1300, aspect kept); videos as the smallest mp4 of the orientation in `video_files` that fits.
- Pixabay: GET {base}/api/ (photos) and {base}/api/videos/ with the key in the `key` query parameter;
  `orientation=horizontal|vertical`, `min_width` (landscape) or `min_height` (portrait), `lang`. Photos
  come as `largeImageURL` (1280 on the long side); videos as the smallest rendition (tiny, small, medium,
  large) that fits.

Keys are never logged: Pexels' header is not, and Pixabay's query parameter is cut from every URL this
module logs or puts in an error. A rejected key fails at once with a message that says where to set it;
429 and 5xx are retried (Retry-After honoured) by `http_retry.send`. Downloads go through a separate
client that carries no key, so a CDN redirect never sees it.

Search answers are kept for 24 hours in `search_cache` (Pixabay's terms ask for it; it also saves Pexels'
hourly quota): the same query within a day, from any channel, is not sent again."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipelines.files import atomic_write_text
from pipelines.providers.broll.base import Candidate, fits
from pipelines.providers.http import (
    ProviderError,
    ProviderRejected,
    RetryPolicy,
    json_body,
    make_client,
    send,
)

log = logging.getLogger(__name__)
PER_PAGE = 15
ORIENTATIONS = ("landscape", "portrait")
SEARCH_TTL = 24 * 3600  # seconds a search answer is reused


def _slug_words(url: str) -> str:
    """ "https://www.pexels.com/video/seal-on-the-beach-1526909/" -> "seal on the beach"."""
    last = [p for p in urlsplit(url or "").path.split("/") if p][-1:] or [""]
    return " ".join(w for w in last[0].split("-") if not w.isdigit())


class _Stock:
    name = ""
    default_base = ""
    key_help = ""

    def __init__(
        self,
        api_key: str,
        *,
        language: str = "en",
        min_width: int = 1280,
        base_url: str | None = None,
        search_cache: Path | None = None,
        timeout: float = 15,
        max_attempts: int = 4,
        backoff: float = 0.5,
        retry_after_cap: float = 30.0,
    ):
        self._key = (api_key or "").strip()
        self.search_cache = search_cache
        self.language = language
        self.min_width = min_width
        self.base_url = (base_url or self.default_base).rstrip("/")
        self.timeout = timeout
        self.policy = RetryPolicy(max_attempts=max_attempts, backoff=backoff, retry_after_cap=retry_after_cap)
        self.calls = 0  # API requests sent (searches its cache did not answer), for the cost of a video

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key=<hidden>)"

    def _get(self, path: str, params: dict, headers: dict) -> dict:
        keyless = json.dumps(
            [self.base_url, path, {k: v for k, v in params.items() if k != "key"}], sort_keys=True
        )
        cached = (
            self.search_cache / f"{self.name}-{hashlib.sha1(keyless.encode()).hexdigest()}.json"
            if self.search_cache
            else None
        )
        if cached and cached.is_file() and time.time() - cached.stat().st_mtime < SEARCH_TTL:
            return json.loads(cached.read_text(encoding="utf-8"))
        self.calls += 1
        with make_client(timeout=self.timeout, headers=headers, base_url=self.base_url) as client:
            data = json_body(
                send(
                    client,
                    "GET",
                    path,
                    provider=self.name,
                    policy=self.policy,
                    params=params,
                    reject=self._reject,
                ),
                self.name,
            )
        if cached:
            atomic_write_text(cached, json.dumps(data))
        return data

    def _reject(self, response: httpx.Response) -> ProviderError | None:
        if response.status_code in (401, 403) or (
            response.status_code == 400 and "key" in response.text.lower()
        ):
            return ProviderRejected(
                self.name, response.status_code, f"the {self.name} key was rejected: {self.key_help}"
            )
        return None

    def search(self, query: str, kind: str, orientation: str = "landscape") -> list[Candidate]:
        """`kind` ("image" or "video") results for `query` of `orientation` ("landscape" or "portrait") and
        at least `min_width` on their long side, in API order."""
        if orientation not in ORIENTATIONS:
            raise ValueError(f"orientation {orientation!r}: use one of {', '.join(ORIENTATIONS)}")
        try:
            found = self._photos(query, orientation) if kind == "image" else self._videos(query, orientation)
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
        ) as e:  # a proxy, an API change, a wrong base_url
            raise ProviderRejected(
                self.name,
                None,
                f"unexpected answer to a {kind} search ({type(e).__name__}: {e}); "
                f"is {self.base_url} the {self.name} API?",
            ) from e
        return [c for c in found if fits(c.width, c.height, orientation, self.min_width) and c.download]

    def _photos(self, query: str, orientation: str) -> list[Candidate]:
        raise NotImplementedError

    def _videos(self, query: str, orientation: str) -> list[Candidate]:
        raise NotImplementedError

    def fetch(self, candidate: Candidate) -> bytes:
        """The file's bytes, through a client that carries no key (CDN redirects are followed)."""
        with make_client(
            timeout=max(self.timeout, 60),
            follow_redirects=True,
            headers={"User-Agent": "nicheflow/0.1 (b-roll)"},
        ) as client:
            return send(client, "GET", candidate.download, provider=self.name, policy=self.policy).content


class Pexels(_Stock):
    """Pexels photos and videos, the key in the `Authorization` header (see the module's docstring)."""

    name = "pexels"
    default_base = "https://api.pexels.com"
    licence = "Pexels License"
    key_help = "set a valid key in the Airflow connection 'pexels_default' or PEXELS_API_KEY"
    _locale = {"en": "en-US", "pt-BR": "pt-BR"}

    def _query(self, path: str, query: str, orientation: str) -> dict:
        params = {
            "query": query,
            "orientation": orientation,
            "per_page": str(PER_PAGE),
            "locale": self._locale.get(self.language, "en-US"),
        }
        return self._get(path, params, {"Authorization": self._key, "Accept": "application/json"})

    def _photos(self, query: str, orientation: str) -> list[Candidate]:
        out = []
        for p in self._query("/v1/search", query, orientation).get("photos") or []:
            w, h = int(p.get("width") or 0), int(p.get("height") or 0)
            scale = min(1880 / w, 1300 / h, 1.0) if w and h else 0  # large2x: 940x650 at 2x, never upscaled
            out.append(
                Candidate(
                    "pexels",
                    str(p["id"]),
                    "image",
                    round(w * scale),
                    round(h * scale),
                    None,
                    p.get("url"),
                    (p.get("src") or {}).get("large2x", ""),
                    p.get("alt") or _slug_words(p.get("url", "")),
                    _slug_words(p.get("url", "")),
                    self.licence,
                    f"{p.get('photographer') or 'unknown'} / Pexels",
                )
            )
        return out

    def _videos(self, query: str, orientation: str) -> list[Candidate]:
        out = []
        for v in self._query("/videos/search", query, orientation).get("videos") or []:
            files = [
                f
                for f in v.get("video_files") or []
                if f.get("file_type") == "video/mp4"
                and fits(f.get("width") or 0, f.get("height") or 0, orientation, self.min_width)
            ]
            if not files:
                continue
            f = min(files, key=lambda f: max(f["width"], f["height"]))
            tags = " ".join(t if isinstance(t, str) else t.get("name", "") for t in v.get("tags") or [])
            out.append(
                Candidate(
                    "pexels",
                    str(v["id"]),
                    "video",
                    int(f["width"]),
                    int(f["height"]),
                    float(v.get("duration") or 0) or None,
                    v.get("url"),
                    f.get("link", ""),
                    _slug_words(v.get("url", "")),
                    tags,
                    self.licence,
                    f"{(v.get('user') or {}).get('name') or 'unknown'} / Pexels",
                )
            )
        return out


class Pixabay(_Stock):
    """Pixabay photos and videos, the key in the `key` query parameter and cut from every logged URL (see
    the module's docstring)."""

    name = "pixabay"
    default_base = "https://pixabay.com"
    licence = "Pixabay Content License"
    key_help = "set a valid key in the Airflow connection 'pixabay_default' or PIXABAY_API_KEY"

    def _query(self, path: str, query: str, orientation: str, **extra: str) -> list[dict]:
        portrait = orientation == "portrait"
        params = {
            "key": self._key,
            "q": query[:100],
            "orientation": "vertical" if portrait else "horizontal",
            "safesearch": "true",
            "min_height" if portrait else "min_width": str(self.min_width),
            "per_page": str(PER_PAGE),
            "lang": self.language[:2],
            **extra,
        }
        return self._get(path, params, {"Accept": "application/json"}).get("hits") or []

    def _photos(self, query: str, orientation: str) -> list[Candidate]:
        out = []
        for p in self._query("/api/", query, orientation, image_type="photo"):
            w, h = int(p.get("imageWidth") or 0), int(p.get("imageHeight") or 0)
            scale = min(1280 / w, 1280 / h, 1.0) if w and h else 0  # largeImageURL: at most 1280 px
            out.append(
                Candidate(
                    "pixabay",
                    str(p["id"]),
                    "image",
                    round(w * scale),
                    round(h * scale),
                    None,
                    p.get("pageURL"),
                    p.get("largeImageURL", ""),
                    p.get("tags") or "",
                    "",
                    self.licence,
                    f"{p.get('user') or 'unknown'} / Pixabay",
                )
            )
        return out

    def _videos(self, query: str, orientation: str) -> list[Candidate]:
        out = []
        for v in self._query("/api/videos/", query, orientation, video_type="film"):
            sizes = [
                r
                for r in (v.get("videos") or {}).values()
                if r.get("url")
                and fits(r.get("width") or 0, r.get("height") or 0, orientation, self.min_width)
            ]
            if not sizes:
                continue
            r = min(sizes, key=lambda r: max(r["width"], r["height"]))
            out.append(
                Candidate(
                    "pixabay",
                    str(v["id"]),
                    "video",
                    int(r["width"]),
                    int(r["height"]),
                    float(v.get("duration") or 0) or None,
                    v.get("pageURL"),
                    r["url"],
                    v.get("tags") or "",
                    "",
                    self.licence,
                    f"{v.get('user') or 'unknown'} / Pixabay",
                )
            )
        return out
