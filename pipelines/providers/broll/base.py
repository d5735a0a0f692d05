"""The b-roll slot's interface: a provider `search(query, kind, orientation)`es for `Candidate`s (photos or
clips with their size, licence and attribution) and `fetch`es one's bytes. The orientation is "landscape"
(the long-form, the default) or "portrait" (a Short); `fits` says whether a size is of it. The b-roll stage asks the channel's
providers in order, ranks what they found by `relevance`, downloads through the media cache and
`measure`s the file; whatever is still missing is generated (broll.generated)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Candidate:
    """One stock photo or clip a segment could use."""

    source: str  # pexels | pixabay | local
    id: str
    kind: str  # image | video
    width: int
    height: int
    duration: float | None
    url: str | None  # the page to credit
    download: str  # URL to fetch (a file path for the local library)
    description: str  # alt text, title or tags: what the reviewer reads
    tags: str  # more words to rank relevance on (tags, the page's slug)
    licence: str
    attribution: str  # "<author> / <source>"

    @property
    def text(self) -> str:
        """The words its relevance is ranked on: the description and the tags."""
        return f"{self.description} {self.tags}"

    @property
    def key(self) -> str:
        """The media cache key of its file: source, id, kind and size."""
        return f"{self.source}-{self.id}-{self.kind}-{self.width}x{self.height}"


class BrollProvider(Protocol):
    """A source of photos and clips: the channel's library (broll.local), Pexels, Pixabay."""

    name: str

    def search(self, query: str, kind: str, orientation: str = "landscape") -> list[Candidate]:
        """Candidates of `kind` ("image" or "video") and `orientation` for `query`, the provider's best
        first."""
        ...

    def fetch(self, candidate: Candidate) -> bytes:
        """The candidate's file."""
        ...


def fits(width: int, height: int, orientation: str, min_side: int) -> bool:
    """Whether a `width` x `height` picture is of `orientation` and large enough: "landscape" wider than
    tall and at least `min_side` wide, "portrait" taller than wide and at least `min_side` tall."""
    if orientation == "portrait":
        return height > width and height >= min_side
    return width > height and width >= min_side


def measure(path: Path, kind: str) -> tuple[int, int, float | None]:
    """Width, height and (for a video) duration of a media file; ValueError when it is not one."""
    if kind == "image":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                im.load()  # decoded whole: a file cut short has a good header and fails only in the render
                return im.width, im.height, None
        except UnidentifiedImageError as e:
            raise ValueError(f"{path.name} is not an image") from e
        except (OSError, SyntaxError) as e:  # Pillow's "image file is truncated", a broken JPEG stream
            raise ValueError(f"{path.name} is a damaged or truncated image ({e})") from e
    from pipelines.media.ffmpeg import FFmpegError, probe

    try:
        info = probe(path)
    except FFmpegError as e:
        raise ValueError(f"{path.name} is not a readable video") from e
    if info.video is None:
        raise ValueError(f"{path.name} has no video stream")
    return info.video.width, info.video.height, info.duration


def suffix_of(candidate: Candidate) -> str:
    """The suffix a download is stored under: the URL's, else .mp4 for a video, .jpg for an image."""
    suffix = Path(urlsplit(candidate.download).path).suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{2,4}", suffix or ""):
        return suffix
    return ".mp4" if candidate.kind == "video" else ".jpg"


def _stem(word: str) -> str:
    word = "".join(
        c for c in unicodedata.normalize("NFD", word.casefold()) if unicodedata.category(c) != "Mn"
    )
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def relevance(query: str, text: str) -> float:
    """Share of the query's words (plural and accents ignored) found in a candidate's tags or description."""
    wanted = {_stem(w) for w in re.findall(r"\w+", query) if len(w) > 2}
    have = {_stem(w) for w in re.findall(r"\w+", text)}
    return len(wanted & have) / len(wanted) if wanted else 0.0
