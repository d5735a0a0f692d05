"""A local stand-in for Wikimedia Commons, for tests: the MediaWiki Action API (`/w/api.php`) and the file
servers (`/files/...`, as upload.wikimedia.org), real HTTP on 127.0.0.1, the real JSON shapes.

What it answers, like the real one where it matters:
- `action=query&generator=search&gsrsearch=...&gsrnamespace=6` with `prop=imageinfo` (`iiprop=url|size|
  mime|extmetadata`, `iiurlwidth`, `iiextmetadatafilter`) or `prop=videoinfo` (`viprop=...|derivatives`).
  Search ANDs the query's words over each file's title, description and categories (accents ignored) and
  honours CirrusSearch's `filetype:bitmap` / `filetype:video`; only the File namespace (6) holds files.
  Files whose title has more of the words rank first. Pages come sorted by page id, each with its search
  rank in `index`; no hits is an answer without `query`. A thumbnail is never wider than its original (a
  narrower original comes as itself).
- extmetadata values as `{"value", "source", "hidden"}`, Artist and ImageDescription as HTML.
- API errors as HTTP 200 with an `error` object; a missing or generic User-Agent gets a 403.
- `/files/<name>` the originals, `/files/thumb/<name>/<W>px-<name>` a real rendition scaled by Pillow,
  `/files/transcoded/<name>/<name>.<key>` the video transcodes (real small WebM / Ogg files made by ffmpeg).

The files (see `FILES`): a CC BY-SA photo (accepted), a public-domain photo narrower than 1920 (served
as itself), a CC0 PNG, a CC BY photo under a ported licence without LicenseUrl, a fair-use poster, a
GFDL-only and a CC BY-NC-SA photo (refused), a photo too small and a portrait one (refused), a
public-domain WebM with transcodes and a public-domain Ogg clip. Failures are scripted with
`server.fail(status(503), status(429, retry_after=0.3))` (see fake_research_servers), consumed by the
next request, API or file; every request is in `server.requests`."""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from tests.helpers.fake_research_servers import FakeServer, Recorded, _words

_GENERIC_AGENTS = ("python-httpx", "python-requests", "python-urllib", "curl")
PAGE = "https://commons.wikimedia.org/wiki/"


@dataclass(frozen=True)
class File:
    pageid: int
    title: str  # "File:<name>"
    width: int  # the original's size (the file served is this size)
    height: int
    meta: dict[str, str]  # extmetadata values
    duration: float | None = None
    transcodes: tuple[tuple[str, int, int], ...] = ()  # (transcode key, width, height)
    categories: str = ""

    @property
    def name(self) -> str:
        return self.title.removeprefix("File:")

    @property
    def mime(self) -> str:
        return {".jpg": "image/jpeg", ".png": "image/png", ".webm": "video/webm", ".ogv": "application/ogg"}[
            Path(self.name).suffix
        ]


def _cc(short: str, code: str, url: str | None, artist: str, **more: str) -> dict[str, str]:
    meta = {
        "LicenseShortName": short,
        "License": code,
        "UsageTerms": f"Creative Commons {short}",
        "Artist": artist,
        "Credit": "Own work",
        "AttributionRequired": "true",
        "Copyrighted": "True",
        **more,
    }
    if url:
        meta["LicenseUrl"] = url
    return meta


def _pd(artist: str, short: str = "Public domain", code: str = "pd", **more: str) -> dict[str, str]:
    return {
        "LicenseShortName": short,
        "License": code,
        "UsageTerms": short,
        "Artist": artist,
        "Credit": "",
        "AttributionRequired": "false",
        "Copyrighted": "False",
        **more,
    }


FILES = [
    File(
        5001,
        "File:Santos-Dumont 14-bis 1906.jpg",
        2400,
        1600,
        _cc(
            "CC BY-SA 4.0",
            "cc-by-sa-4.0",
            "https://creativecommons.org/licenses/by-sa/4.0",
            '<bdi><a href="//commons.wikimedia.org/wiki/User:Joao" title="User:Joao">João &amp; Filhos'
            "</a></bdi>",
            ImageDescription="<p>The <i>14-bis</i> of Alberto Santos-Dumont in flight at Bagatelle, 1906.</p>",
        ),
        categories="14-bis|Alberto Santos-Dumont|Aviation in Paris",
    ),
    File(
        5002,
        "File:14-bis Bagatelle 1906.jpg",
        1600,
        1000,
        _pd(
            '<a href="https://en.wikipedia.org/wiki/Agence_Rol" class="extiw">Agence Rol</a>',
            ImageDescription="Santos-Dumont and the 14-bis on the field of Bagatelle, Paris, 12 November 1906",
        ),
        categories="14-bis|Agence Rol photographs",
    ),
    File(
        5003,
        "File:Santos-Dumont 14-bis replica.png",
        2000,
        1200,
        _pd("Museu TAM", short="CC0", code="cc0", ImageDescription="A replica of the 14-bis (Santos-Dumont)"),
    ),
    File(
        5004,
        "File:14-bis poster Santos-Dumont.jpg",
        2000,
        1333,
        {
            "LicenseShortName": "Fair use",
            "UsageTerms": "Fair use (non-free)",
            "Artist": "Unknown",
            "NonFree": "true",
            "Copyrighted": "True",
            "ImageDescription": "Poster of the 14-bis flight of Santos-Dumont",
        },
    ),
    File(
        5005,
        "File:Santos-Dumont 14-bis GFDL.jpg",
        2400,
        1600,
        _cc("GFDL", "gfdl", "https://www.gnu.org/copyleft/fdl.html", "Some One"),
    ),
    File(
        5006,
        "File:Santos-Dumont 14-bis noncommercial.jpg",
        2400,
        1600,
        _cc(
            "CC BY-NC-SA 2.0",
            "cc-by-nc-sa-2.0",
            "https://creativecommons.org/licenses/by-nc-sa/2.0",
            "Flickr User",
        ),
    ),
    File(
        5007,
        "File:14-bis sketch Santos-Dumont.jpg",
        800,
        533,
        _cc("CC BY 2.0", "cc-by-2.0", "https://creativecommons.org/licenses/by/2.0", "Ana Lima"),
    ),
    File(
        5008,
        "File:Santos-Dumont portrait 14-bis.jpg",
        1200,
        1800,
        _cc("CC BY-SA 3.0", "cc-by-sa-3.0", "https://creativecommons.org/licenses/by-sa/3.0", "Bo Chen"),
    ),
    File(
        5009,
        "File:Saturn V rocket launch pad.jpg",
        2400,
        1350,
        _cc(
            "CC BY 3.0 de",
            "cc-by-3.0-de",
            None,
            '<span class="fn value"><a href="//commons.wikimedia.org/wiki/User:Raketen">Raketen-Fan</a></span>',
            ImageDescription="Saturn V rocket on the launch pad, a model at a museum",
        ),
    ),
    File(
        5101,
        "File:Santos-Dumont 14-bis flight 1906.webm",
        1920,
        1080,
        _pd("Gaumont", ImageDescription="Film of the 14-bis of Santos-Dumont flying at Bagatelle, 1906"),
        duration=2.0,
        transcodes=(
            ("480p.vp9.webm", 854, 480),
            ("720p.vp9.webm", 1280, 720),
            ("1080p.vp9.webm", 1920, 1080),
        ),
    ),
    File(
        5102,
        "File:Saturn V rocket launch.ogv",
        1280,
        720,
        _pd("NASA", ImageDescription="Launch of a Saturn V rocket, NASA film"),
        duration=2.0,
    ),
]


def make_commons_media(folder: Path) -> dict[str, Path]:
    """Real files for every File at its size: JPEG/PNG stills (Pillow), a VP8 WebM and its 720p transcode,
    a Theora Ogg (ffmpeg). Name under /files/ -> path."""
    from PIL import Image, ImageDraw

    from pipelines.media.ffmpeg import run_ffmpeg

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for n, f in enumerate(FILES):
        path = folder / f.name
        if f.mime.startswith("image/"):
            im = Image.new("RGB", (f.width, f.height), (30 + 20 * n, 120, 200 - 15 * n))
            ImageDraw.Draw(im).ellipse(
                (f.width // 4, f.height // 4, f.width // 2, f.height // 2), fill="white"
            )
            im.save(path, "PNG" if path.suffix == ".png" else "JPEG", quality=80)
            out[f.name] = path
            continue
        source = f"color=c=0x{n * 20:02x}6080:s={{}}:r=6:d={f.duration}"
        codec = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
        if path.suffix == ".ogv":  # libtheora drops repeated frames: give it frames that change
            source, codec = f"testsrc2=s={{}}:r=6:d={f.duration}", ["-c:v", "libtheora", "-q:v", "3"]
        renditions = [(f.name, f.width, f.height)] + [
            (f"transcoded/{f.name}/{f.name}.{key}", w, h) for key, w, h in f.transcodes
        ]
        for name, w, h in renditions:
            dest = folder / name.replace("/", "__")
            if (w, h) == (f.width, f.height) and name != f.name:  # a transcode at the original's size
                shutil.copy(out[f.name], dest)
            else:
                run_ffmpeg(
                    ["-f", "lavfi", "-i", source.format(f"{w}x{h}"), *codec, "-an", str(dest)],
                    what=f"making test clip {name}",
                )
            out[name] = dest
    return out


class FakeCommons(FakeServer):
    def __init__(self, media: dict[str, Path]):
        super().__init__()
        self.media = media
        self._thumbs: dict[str, bytes] = {}

    # -- files ----------------------------------------------------------------------------------------

    def file_url(self, name: str) -> str:
        return f"{self.url}/files/{quote(name)}"

    def downloads(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/files/")]

    def api_calls(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/w/api.php"]

    def _file(self, path: str) -> tuple[int, str, bytes]:
        from urllib.parse import unquote

        name = unquote(path.removeprefix("/files/"))
        if name.startswith("thumb/"):
            original, _, rendition = name.removeprefix("thumb/").partition("/")
            width = int(rendition.split("px-", 1)[0])
            if original not in self.media:
                return 404, "text/plain", b"not found"
            if name not in self._thumbs:
                from PIL import Image

                with Image.open(self.media[original]) as im:
                    scaled = im.resize((width, round(im.height * width / im.width)))
                    buf = io.BytesIO()
                    scaled.save(buf, im.format or "JPEG")
                self._thumbs[name] = buf.getvalue()
            return 200, _TYPES[Path(original).suffix], self._thumbs[name]
        if name in self.media:
            return 200, _TYPES[Path(name).suffix], self.media[name].read_bytes()
        return 404, "text/plain", b"not found"

    def _handle(self, h) -> None:
        parts = urlsplit(h.path)
        if not parts.path.startswith("/files/"):
            return super()._handle(h)
        rec = Recorded(
            h.command,
            parts.path,
            dict(parse_qsl(parts.query)),
            {k.lower(): v for k, v in h.headers.items()},
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(rec)
            failure = self._failures.popleft() if self._failures else None
        headers: dict = {}
        if failure and failure.status is not None:
            code, kind, raw, headers = (
                failure.status,
                "text/plain",
                b"Wikimedia Error (fake)",
                failure.headers,
            )
        else:
            code, kind, raw = self._file(parts.path)
        rec.status = code
        h.send_response(code)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(raw)))
        for k, v in headers.items():
            h.send_header(k, str(v))
        h.end_headers()
        h.wfile.write(raw)

    # -- the API --------------------------------------------------------------------------------------

    def error_body(self, code: int) -> str:
        return f"Error {code}: Wikimedia Error (fake)"

    @staticmethod
    def _api_error(code: str, info: str) -> tuple[int, dict, dict]:
        return 200, {"MediaWiki-API-Error": code}, {"error": {"code": code, "info": info}, "servedby": "fake"}

    def respond(self, method, path, query, headers):
        if path != "/w/api.php":
            return 404, {}, "Not Found"
        agent = headers.get("user-agent", "")
        if not agent or agent.lower().startswith(_GENERIC_AGENTS):
            return 403, {}, "Please set a user-agent and respect our robot policy https://w.wiki/4wJS."
        if query.get("format") != "json":
            return 200, {}, "<!DOCTYPE html><html>this fake speaks only format=json</html>"
        if query.get("action") != "query":
            return self._api_error(
                "badvalue", f'Unrecognized value for parameter "action": {query.get("action")}.'
            )
        if query.get("generator") != "search":
            return self._api_error("badvalue", "this fake answers only generator=search")
        if not query.get("gsrsearch"):
            return self._api_error("missingparam", 'The "gsrsearch" parameter must be set.')
        prop = query.get("prop", "")
        if prop not in ("imageinfo", "videoinfo"):
            return self._api_error("badvalue", f'Unrecognized value for parameter "prop": {prop}.')
        p = "ii" if prop == "imageinfo" else "vi"
        hits = self._search(query["gsrsearch"], query.get("gsrnamespace", "0"))[
            : int(query.get("gsrlimit", "10"))
        ]
        if not hits:
            return 200, {}, {"batchcomplete": True}
        pages = [
            {
                "pageid": f.pageid,
                "ns": 6,
                "title": f.title,
                "index": rank,
                "imagerepository": "local",
                prop: [self._info(f, query, p)],
            }
            for rank, f in enumerate(hits, start=1)
        ]
        return (
            200,
            {},
            {"batchcomplete": True, "query": {"pages": sorted(pages, key=lambda pg: pg["pageid"])}},
        )

    def _search(self, search: str, namespace: str) -> list[File]:
        words = search.split()
        types = {w.removeprefix("filetype:") for w in words if w.startswith("filetype:")}
        terms = _words(" ".join(w for w in words if not w.startswith("filetype:")))
        if "6" not in namespace.split("|") or not terms:
            return []
        out = []
        for f in FILES:
            kind = "video" if f.mime.startswith(("video/", "application/ogg")) else "bitmap"
            text = f"{f.title} {f.meta.get('ImageDescription', '')} {f.categories.replace('|', ' ')}"
            if (not types or kind in types) and terms <= _words(text):
                out.append(f)
        return sorted(out, key=lambda f: -len(terms & _words(f.title)))  # title matches first, then page id

    def _info(self, f: File, query: dict, p: str) -> dict:
        props = set(query.get(f"{p}prop", "timestamp|user").split("|"))
        info: dict = {}
        if "size" in props:
            info.update({"size": f.width * f.height // 10, "width": f.width, "height": f.height})
            if f.duration:
                info["duration"] = f.duration
        if "url" in props:
            url = self.file_url(f.name)
            width = int(query.get(f"{p}urlwidth") or 0)
            if width and f.mime.startswith("image/"):
                if width < f.width:
                    thumb, tw, th = (
                        self.file_url(f"thumb/{f.name}/{width}px-{f.name}"),
                        width,
                        round(f.height * width / f.width),
                    )
                else:
                    thumb, tw, th = url, f.width, f.height
                info.update({"thumburl": thumb, "thumbwidth": tw, "thumbheight": th})
            page = PAGE + quote(f.title.replace(" ", "_"), safe=":")
            info.update(
                {"url": url, "descriptionurl": page, "descriptionshorturl": f"{PAGE}?curid={f.pageid}"}
            )
        if "mime" in props:
            info["mime"] = f.mime
        if "extmetadata" in props:
            wanted = set(query.get(f"{p}extmetadatafilter", "").split("|")) - {""}
            meta = {
                **f.meta,
                "ObjectName": f.name.rsplit(".", 1)[0],
                "Categories": f.categories,
                "DateTime": "2020-01-01 00:00:00",
            }
            info["extmetadata"] = {
                k: {"value": v, "source": "commons-desc-page", "hidden": k == "Categories"}
                for k, v in meta.items()
                if not wanted or k in wanted
            }
        if "derivatives" in props and f.mime.startswith(("video/", "application/ogg")):
            info["derivatives"] = [
                {
                    "src": self.file_url(f.name),
                    "type": 'video/webm; codecs="vp8"'
                    if f.name.endswith(".webm")
                    else 'video/ogg; codecs="theora"',
                    "title": f"Original file, {f.width} × {f.height}",
                    "shorttitle": "Original",
                    "width": f.width,
                    "height": f.height,
                }
            ] + [
                {
                    "src": self.file_url(f"transcoded/{f.name}/{f.name}.{key}"),
                    "type": 'video/webm; codecs="vp9, opus"',
                    "transcodekey": key,
                    "width": w,
                    "height": h,
                    "bandwidth": w * 400,
                }
                for key, w, h in f.transcodes
            ]
        return info


_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webm": "video/webm", ".ogv": "video/ogg"}
