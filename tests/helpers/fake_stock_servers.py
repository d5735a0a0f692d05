"""Local stand-ins for the Pexels and Pixabay APIs, for tests: real HTTP on 127.0.0.1, the real JSON shapes,
and real small JPEG/MP4 files as the downloads (served by the same server under /files/).

- `FakePexels`: GET /v1/search (photos) and /videos/search, key in the `Authorization` header (a wrong or
  missing key gets 401), `orientation` (landscape, portrait or square; absent: all), `per_page`, `page`.
- `FakePixabay`: GET /api/ (photos) and /api/videos/, key in the `key` query parameter (a wrong one gets
  HTTP 400 "[ERROR 400] Invalid or missing API key", as Pixabay answers), `min_width`, `min_height`,
  `orientation` (horizontal, vertical; absent or all: all).

Both search like the real services loosely do: a hit needs one of the query's words in its tags or
description. Failures are scripted with `server.fail(status(429, retry_after=1))` (see
fake_research_servers); every request is in `server.requests`, downloads included."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers.fake_research_servers import FakeServer, Recorded, _words


@dataclass(frozen=True)
class Item:
    id: int
    kind: str  # photo | video
    words: str  # tags / alt text
    file: str  # name under /files/
    width: int  # the original's size as the API reports it
    height: int
    author: str
    duration: int = 0


def make_media(folder: Path) -> dict[str, Path]:
    """Small real files: distinct landscape JPEGs (1920x1080 and 1280x720), two portrait JPEGs (720x1280),
    landscape and portrait MP4 clips; `same-a.jpg` and `same-b.jpg` hold the same bytes."""
    from PIL import Image

    from pipelines.media.ffmpeg import run_ffmpeg

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, (name, size) in enumerate(
        [
            ("p1.jpg", (1920, 1080)),
            ("p2.jpg", (1920, 1080)),
            ("p3.jpg", (1920, 1080)),
            ("p4.jpg", (1920, 1080)),
            ("p5.jpg", (1920, 1080)),
            ("x1.jpg", (1280, 720)),
            ("x2.jpg", (1280, 720)),
            ("x3.jpg", (1280, 720)),
            ("tall.jpg", (720, 1280)),
            ("same-a.jpg", (1280, 720)),
            ("tall-b.jpg", (720, 1280)),
        ]
    ):
        Image.new("RGB", size, (40 * i % 256, 90, 200 - 15 * i)).save(folder / name, "JPEG", quality=70)
        files[name] = folder / name
    (folder / "same-b.jpg").write_bytes((folder / "same-a.jpg").read_bytes())
    files["same-b.jpg"] = folder / "same-b.jpg"
    for name, size, colour in [
        ("v1.mp4", "1280x720", "navy"),
        ("v2.mp4", "1280x720", "teal"),
        ("xv1.mp4", "1280x720", "maroon"),
        ("tall.mp4", "720x1280", "olive"),
        ("tall-b.mp4", "720x1280", "purple"),
    ]:
        run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"color=c={colour}:s={size}:r=24:d=3",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                folder / name,
            ],
            what=f"making test clip {name}",
        )
        files[name] = folder / name
    return files


class _StockServer(FakeServer):
    items: list[Item] = []

    def __init__(self, media: dict[str, Path], valid_key: str):
        super().__init__()
        self.media = media
        self.valid_key = valid_key

    def downloads(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/files/")]

    def searches(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.startswith("/files/")]

    def file_url(self, name: str) -> str:
        return f"{self.url}/files/{name}"

    def hits(self, kind: str, query: str, orientation: str = "all") -> list[Item]:
        """Items of `kind` sharing a word with `query`, of `orientation` as the services filter it (by the
        original's size): landscape/horizontal wider than tall, portrait/vertical taller, square both."""
        terms = _words(query)
        shape = {
            "landscape": lambda i: i.width > i.height,
            "horizontal": lambda i: i.width > i.height,
            "portrait": lambda i: i.height > i.width,
            "vertical": lambda i: i.height > i.width,
            "square": lambda i: i.height == i.width,
        }.get(orientation, lambda i: True)
        return [i for i in self.items if i.kind == kind and terms & _words(i.words) and shape(i)]

    def _handle(self, h) -> None:
        parts = urlsplit(h.path)
        if not parts.path.startswith("/files/"):
            return super()._handle(h)
        name = parts.path.removeprefix("/files/")
        rec = Recorded(
            h.command, parts.path, {}, {k.lower(): v for k, v in h.headers.items()}, at=time.monotonic()
        )
        path = self.media.get(name)
        rec.status = 200 if path else 404
        with self._lock:
            self.requests.append(rec)
        raw = path.read_bytes() if path else b"not found"
        h.send_response(rec.status)
        h.send_header(
            "Content-Type", {".jpg": "image/jpeg", ".mp4": "video/mp4"}.get(Path(name).suffix, "text/plain")
        )
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)


class FakePexels(_StockServer):
    items = [
        Item(101, "photo", "Rocket launch at night, fire and smoke", "p1.jpg", 6000, 3375, "Ana Lima"),
        Item(102, "photo", "Saturn V rocket on the launch pad", "p2.jpg", 5472, 3078, "Bo Chen"),
        Item(103, "photo", "Telescope dome under the stars", "p3.jpg", 4000, 2250, "Cy Dube"),
        Item(104, "photo", "Rocket engine close up", "p4.jpg", 4000, 2250, "Dee Eze"),
        Item(
            105, "photo", "Rocket on a phone wallpaper", "tall.jpg", 2250, 4000, "Eli Fox"
        ),  # portrait: never used
        Item(106, "photo", "Moon surface craters", "p5.jpg", 900, 500, "Fay Gil"),  # too small
        Item(107, "photo", "Moon rising over the sea", "same-a.jpg", 4000, 2250, "Gus Hu"),
        Item(201, "video", "rocket launch countdown", "v1.mp4", 1920, 1080, "Hal Ito", 3),
        Item(202, "video", "moon phases timelapse", "v2.mp4", 1920, 1080, "Ivy Jo", 3),
        Item(203, "video", "rocket vertical story", "tall.mp4", 1080, 1920, "Jon Ka", 3),  # portrait
    ]

    def __init__(self, media: dict[str, Path], valid_key: str = "pexels-key-valid"):
        super().__init__(media, valid_key)

    def error_body(self, code: int) -> dict:
        return {"status": code, "code": "Too Many Requests" if code == 429 else f"HTTP {code}"}

    def respond(self, method, path, query, headers):
        if headers.get("authorization") != self.valid_key:
            return 401, {}, {"status": 401, "code": "Unauthorized"}
        per_page = int(query.get("per_page", "15"))
        if path == "/v1/search":
            found = self.hits("photo", query.get("query", ""), query.get("orientation", "all"))
            photos = [self._photo(i) for i in found][:per_page]
            return 200, {}, {"page": 1, "per_page": per_page, "photos": photos, "total_results": len(photos)}
        if path == "/videos/search":
            found = self.hits("video", query.get("query", ""), query.get("orientation", "all"))
            videos = [self._video(i) for i in found][:per_page]
            return (
                200,
                {},
                {
                    "page": 1,
                    "per_page": per_page,
                    "videos": videos,
                    "total_results": len(videos),
                    "url": f"https://www.pexels.com/search/videos/{query.get('query', '')}/",
                },
            )
        return 404, {}, {"status": 404, "code": "Not Found"}

    def _photo(self, i: Item) -> dict:
        url = self.file_url(i.file)
        return {
            "id": i.id,
            "width": i.width,
            "height": i.height,
            "url": f"https://www.pexels.com/photo/{'-'.join(i.words.lower().split())}-{i.id}/",
            "photographer": i.author,
            "photographer_url": f"https://www.pexels.com/@{i.author.split()[0].lower()}",
            "photographer_id": i.id * 7,
            "avg_color": "#7A8B9C",
            "liked": False,
            "alt": i.words,
            "src": {
                "original": url,
                "large2x": url,
                "large": url + "?h=650",
                "medium": url + "?h=350",
                "small": url + "?h=130",
                "portrait": url + "?h=1200&w=800",
                "landscape": url + "?h=627&w=1200",
                "tiny": url + "?h=200&w=280",
            },
        }

    def _video(self, i: Item) -> dict:
        url = self.file_url(i.file)
        small = (i.width // 3, i.height // 3)
        return {
            "id": i.id,
            "width": i.width,
            "height": i.height,
            "duration": i.duration,
            "full_res": None,
            "tags": [],
            "url": f"https://www.pexels.com/video/{'-'.join(i.words.lower().split())}-{i.id}/",
            "image": f"https://images.pexels.com/videos/{i.id}/free-video-{i.id}.jpg",
            "avg_color": None,
            "user": {"id": i.id * 3, "name": i.author, "url": "https://www.pexels.com/@x"},
            "video_files": [
                {
                    "id": i.id * 10,
                    "quality": "sd",
                    "file_type": "video/mp4",
                    "width": small[0],
                    "height": small[1],
                    "fps": 24.0,
                    "link": url + "?sd",
                },
                {
                    "id": i.id * 10 + 1,
                    "quality": "hd",
                    "file_type": "video/mp4",
                    "width": i.width * 2 // 3,
                    "height": i.height * 2 // 3,
                    "fps": 24.0,
                    "link": url,
                },
                {
                    "id": i.id * 10 + 2,
                    "quality": "hd",
                    "file_type": "video/mp4",
                    "width": i.width,
                    "height": i.height,
                    "fps": 24.0,
                    "link": url + "?hd",
                },
            ],
            "video_pictures": [{"id": i.id, "nr": 0, "picture": "https://images.pexels.com/x.jpg"}],
        }


class FakePixabay(_StockServer):
    items = [
        Item(3001, "photo", "telescope, observatory, night sky", "x1.jpg", 4000, 2250, "stargazer"),
        Item(3002, "photo", "rocket, space, launch", "x2.jpg", 5000, 2813, "spacefan"),
        Item(3003, "photo", "astronaut, spacewalk, orbit", "x3.jpg", 4000, 2250, "orbiter"),
        Item(3004, "photo", "moon, night, sky", "same-b.jpg", 4000, 2250, "luna"),
        Item(4001, "video", "telescope, stars, timelapse", "xv1.mp4", 1920, 1080, "nightcam", 3),
        Item(3005, "photo", "telescope, tower, vertical", "tall-b.jpg", 2250, 4000, "upright"),  # portrait
        Item(4002, "video", "telescope, stars, vertical", "tall-b.mp4", 1080, 1920, "tallcam", 3),  # portrait
    ]

    def __init__(self, media: dict[str, Path], valid_key: str = "pixabay-key-valid"):
        super().__init__(media, valid_key)

    def error_body(self, code: int) -> str:
        return f"[ERROR {code}]"

    def respond(self, method, path, query, headers):
        if query.get("key") != self.valid_key:
            return 400, {}, "[ERROR 400] Invalid or missing API key"
        per_page = int(query.get("per_page", "20"))
        min_width, min_height = int(query.get("min_width", "0")), int(query.get("min_height", "0"))
        kind = {"/api/": "photo", "/api/videos/": "video"}.get(path)
        if kind is None:
            return 404, {}, "[ERROR 404]"
        found = [
            i
            for i in self.hits(kind, query.get("q", ""), query.get("orientation", "all"))
            if i.width >= min_width and i.height >= min_height
        ]
        hits = [self._photo(i) if kind == "photo" else self._video(i) for i in found]
        headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "60"}
        return 200, headers, {"total": len(hits), "totalHits": len(hits), "hits": hits[:per_page]}

    def _photo(self, i: Item) -> dict:
        url = self.file_url(i.file)
        return {
            "id": i.id,
            "pageURL": f"https://pixabay.com/photos/{i.words.split(',')[0]}-{i.id}/",
            "type": "photo",
            "tags": i.words,
            "previewURL": url + "?150",
            "previewWidth": 150,
            "previewHeight": 84,
            "webformatURL": url + "?640",
            "webformatWidth": 640,
            "webformatHeight": 360,
            "largeImageURL": url,
            "imageWidth": i.width,
            "imageHeight": i.height,
            "imageSize": 2_000_000,
            "views": 10,
            "downloads": 5,
            "collections": 1,
            "likes": 2,
            "comments": 0,
            "user_id": i.id * 5,
            "user": i.author,
            "userImageURL": "https://cdn.pixabay.com/user/x_250x250.jpg",
        }

    def _video(self, i: Item) -> dict:
        url = self.file_url(i.file)

        def rendition(w: int, h: int, link: str) -> dict:
            return {"url": link, "width": w, "height": h, "size": 1_000_000, "thumbnail": link + ".jpg"}

        return {
            "id": i.id,
            "pageURL": f"https://pixabay.com/videos/id-{i.id}/",
            "type": "film",
            "tags": i.words,
            "duration": i.duration,
            "videos": {  # the original's size, 2/3 of it (the file served) and half of it
                "large": rendition(0, 0, ""),
                "medium": rendition(i.width, i.height, url + "?medium"),
                "small": rendition(i.width * 2 // 3, i.height * 2 // 3, url),
                "tiny": rendition(i.width // 2, i.height // 2, url + "?tiny"),
            },
            "views": 10,
            "downloads": 5,
            "likes": 2,
            "comments": 0,
            "user_id": i.id * 5,
            "user": i.author,
            "userImageURL": "https://cdn.pixabay.com/user/x_250x250.jpg",
        }
