"""The channel config: one YAML file per channel in niche_configs/, validated strictly.

parse -> ChannelConfig (this module) -> the stages of pipelines/stages/registry.py -> DAG (dags/). Errors
name the file and the field and say what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time as TimeOfDay
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipelines import metadata
from pipelines.alert_config import ChannelAlerts
from pipelines.config_file import ConfigError, read_yaml
from pipelines.paths import REPO, config_dir, data_dir

CHANNEL_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")

# Language -> (PostgreSQL text search configuration, default espeak-ng voice)
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("english", "en-us"),
    "pt-BR": ("portuguese", "pt-br"),
}


def project_path(field: str, value: str) -> Path:
    """The file or folder a config field names (relative to the repo root, or absolute), refused when it
    resolves (links followed) outside the project: the repo, the data folder, or the folder holding the
    config folder."""
    path = (REPO / value).resolve()
    roots = (REPO, data_dir(), config_dir().parent)
    if not any(path.is_relative_to(root) for root in roots):
        raise ValueError(
            f"{field} {value!r} is {path}, outside the project: use a path inside the repo ({REPO}) or the "
            f"data folder ({data_dir()})"
        )
    return path


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Voice(Strict):
    provider: Literal["espeak", "piper", "azure"] = Field(
        "espeak",
        description="espeak (offline, pt-BR and English), piper (offline neural, English), azure (needs "
        "AZURE_SPEECH_KEY or the Airflow connection azure_speech_default; without it espeak "
        "speaks, and the log says so)",
    )
    name: str | None = Field(
        None,
        description="voice name; defaults to the provider's voice for the language "
        "(espeak en-us/pt-br, piper en_US-joe-medium, azure "
        "en-US-JennyNeural/pt-BR-FranciscaNeural)",
    )
    rate_wpm: Annotated[int, Field(ge=80, le=300)] = 165
    style: str | None = Field(
        None, description="azure speaking style, e.g. narration-relaxed; null = the voice's own"
    )


class Audio(Strict):
    music: str | None = Field(
        None,
        description="music bed file (relative to the repo), looped under the voice, "
        "ducked while it speaks and faded out at the end; null = none",
    )
    music_db: Annotated[float, Field(ge=-40, le=0)] = Field(
        -20, description="level of the music bed in dB (before ducking, relative to the file)"
    )

    @field_validator("music")
    @classmethod
    def _music_exists(cls, v: str | None) -> str | None:
        if v is not None and not project_path("music", v).is_file():
            raise ValueError(f"music {v!r} is not a file (give a path relative to the repo root, or null)")
        return v

    @property
    def music_path(self) -> Path | None:
        return (REPO / self.music).resolve() if self.music else None


class YouTube(Strict):
    project: Annotated[str, Field(pattern=CHANNEL_ID.pattern)] = Field(
        description="the Google Cloud project whose OAuth client this channel uses (and whose daily quota it "
        "shares): the Airflow connection youtube_project_<project> holds the client id and secret",
    )
    channel_id: Annotated[str | None, Field(pattern=r"^UC[A-Za-z0-9_-]{22}$")] = Field(
        None,
        description="the YouTube channel (UC...) the token must be bound to; `nicheflow youtube connect` "
        "prints it. Null: the channel the token was bound to when it was connected",
    )
    playlists: list[str] = Field(default_factory=list, description="playlist ids every long-form video joins")
    shorts_playlists: list[str] = Field(default_factory=list, description="playlist ids every Short joins")
    notify_subscribers: bool = True
    captions: bool = Field(True, description="upload the SRT captions in the channel's language")
    chunk_mib: Annotated[float, Field(gt=0, le=256)] = Field(
        8, description="upload chunk size in MiB, a multiple of 0.25 (each chunk is saved as done)"
    )

    @field_validator("chunk_mib")
    @classmethod
    def _chunk(cls, v: float) -> float:
        if (v * 4) != int(v * 4):
            raise ValueError(f"chunk_mib {v}: YouTube takes chunks in multiples of 256 KiB (0.25 MiB)")
        return v


class Publish(Strict):
    provider: Literal["outbox", "youtube"] = Field(
        "outbox",
        description="outbox (a local folder per channel, no account needed) or youtube (needs publish.youtube "
        "and `nicheflow youtube connect <channel>`)",
    )
    time: TimeOfDay | None = Field(
        TimeOfDay(17, 0),
        description="local time of day for long-form videos (uploaded private, YouTube makes them public "
        "then); null = publish when ready with `privacy`",
    )
    shorts_time: TimeOfDay | None = Field(
        TimeOfDay(12, 0), description="local time of day for Shorts; null = publish when ready"
    )
    privacy: Literal["private", "unlisted", "public"] = "private"
    made_for_kids: bool = False
    tags: list[str] = Field(
        default_factory=list,
        description="tags of every video, before the script's own; at most 500 characters as YouTube counts them",
    )
    category_id: str = "27"
    youtube: YouTube | None = None

    @model_validator(mode="after")
    def _youtube_needs_its_section(self) -> Publish:
        if self.provider == "youtube" and self.youtube is None:
            raise ValueError("publish.provider is youtube: add publish.youtube with at least `project`")
        return self

    @field_validator("tags")
    @classmethod
    def _youtube_takes_the_tags(cls, v: list[str]) -> list[str]:
        if wrong := metadata.problems(tags=v):
            raise ValueError(wrong["tags"])
        return v


class Shorts(Strict):
    count: Annotated[
        int, Field(ge=0, le=5, description="Shorts chosen from each long-form, never overlapping")
    ] = 1
    max_seconds: Annotated[
        float,
        Field(
            ge=10,
            le=180,
            description="a Short's longest length; YouTube treats vertical videos of up to 3 minutes as Shorts",
        ),
    ] = 58


class Checkpoints(Strict):
    poll_seconds: Annotated[float, Field(ge=1, le=600)] = 15
    timeout_hours: Annotated[float, Field(gt=0, le=24 * 60)] = Field(
        48, description="a checkpoint waiting longer marks its production stalled (nothing is lost)"
    )
    reminder_hours: Annotated[float, Field(gt=0, le=24 * 30)] = Field(
        12, description="how often a waiting checkpoint is logged and counted as a reminder"
    )


class LLM(Strict):
    provider: Literal["offline", "groq"] = Field(
        "offline",
        description="groq needs GROQ_API_KEY (or the Airflow connection groq_default); without it "
        "the offline writer is used, and the log says so",
    )
    model: str = "llama-3.3-70b-versatile"
    tone: str = Field("", description="e.g. 'curious and warm, no hype'")
    audience: str = Field("", description="e.g. 'adults new to astronomy'")


ResearchProviderName = Literal["local", "wikipedia", "websearch"]
StockProviderName = Literal["local", "pexels", "pixabay", "commons"]
StockMedia = Literal["video", "photo"]


class Research(Strict):
    providers: list[ResearchProviderName] = Field(
        default_factory=lambda: list[ResearchProviderName](["local"]),
        description="asked in order, each only while gaps remain; websearch needs BRAVE_SEARCH_API_KEY",
    )
    max_external_calls: Annotated[int, Field(ge=0, le=20)] = Field(
        4,
        description="per production: external searches (Wikipedia, web) for the topic and its open questions",
    )


class Costs(Strict):
    """Prices of the providers that charge by use (pipelines.costs); Groq's come with its answers."""

    azure_tts_usd_per_million_chars: Annotated[float, Field(ge=0)] = Field(
        15.0,
        description="Azure Speech neural voices, USD per million characters spoken (pay-as-you-go list "
        "price; check it against your Azure region and tier)",
    )
    websearch_usd_per_thousand_calls: Annotated[float, Field(ge=0)] | None = Field(
        None, description="your Brave Search plan's price per 1,000 searches; null = no price known"
    )


class Knowledge(Strict):
    fact_ttl_days: Annotated[int, Field(ge=1)] | None = Field(
        None, description="facts older than this expire (upkeep DAG); null = facts never expire (history)"
    )


class Broll(Strict):
    providers: list[StockProviderName] = Field(
        default_factory=lambda: list[StockProviderName](["pexels", "pixabay"]),
        description="stock sources asked in order (generated visuals always come last); pexels/pixabay need "
        "PEXELS_API_KEY/PIXABAY_API_KEY (or Airflow connections) and are skipped, and logged, without; "
        "commons (Wikimedia Commons, free licences only) needs no key",
    )
    library_dir: str | None = Field(
        None,
        description="the channel's own images/clips, each with a <name>.yaml "
        "sidecar giving its licence (needed for provider local)",
    )
    media: list[StockMedia] = Field(
        default_factory=lambda: list[StockMedia](["video", "photo"]),
        min_length=1,
        description="what to search for, preferred first",
    )
    min_width: Annotated[int, Field(ge=640, le=7680)] = Field(
        1280, description="smallest stock width accepted"
    )
    repeat_days: Annotated[int, Field(ge=0, le=3650)] = Field(
        30, description="a clip used on the channel is not used again for this many days"
    )

    @model_validator(mode="after")
    def _library(self) -> Broll:
        if "local" in self.providers and not self.library_dir:
            raise ValueError(
                "providers lists local: set library_dir to a folder of images/clips with .yaml sidecars"
            )
        return self

    @field_validator("library_dir")
    @classmethod
    def _library_exists(cls, v: str | None) -> str | None:
        if v and not project_path("library_dir", v).is_dir():
            raise ValueError(f"library_dir {v!r} is not a folder (relative to the repo root)")
        return v

    @property
    def library_path(self) -> Path:
        return (REPO / (self.library_dir or ".")).resolve()


class AudioQA(Strict):
    model: str = Field(
        "auto",
        min_length=1,
        description=(
            "auto (the Whisper model packaged for the channel's language), a folder holding a CTranslate2 Whisper "
            "model, or off"
        ),
    )
    max_wer: Annotated[float, Field(gt=0, le=2)] | None = Field(
        None,
        description="segments whose word error rate against the script is higher are flagged at the audio "
        "checkpoint; null = the language's default (MAX_WER)",
    )

    @field_validator("model", mode="before")
    @classmethod
    def _off(cls, v: object) -> object:
        return "off" if v is False else v  # YAML reads a bare `off` as false

    def threshold(self, language: str) -> float:
        return self.max_wer or MAX_WER[language]


# Default audio_qa.max_wer, measured with tests/bench/bench_audio_qa.py. English: espeak-ng and Piper segments score
# at most 0.29 with tiny.en, a segment saying another sentence about 0.9 or more. Portuguese: the packaged base model
# hears espeak-ng's pt-br poorly (median 0.63-0.69), another sentence scores 0.92 or more; at 0.9, 1 to 3 segments
# in 10 of a correct espeak-ng narration are flagged too (decoding varies a little), each showing what was heard.
MAX_WER = {"en": 0.35, "pt-BR": 0.9}


HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".mp4", ".mov", ".mkv", ".webm")


class Style(Strict):
    caption_font: Literal["DejaVu Sans", "DejaVu Sans Bold"] = Field(
        "DejaVu Sans Bold", description="one of the fonts the project carries (pipelines/assets/fonts)"
    )
    caption_scale: Annotated[float, Field(ge=0.5, le=2.0)] = Field(
        1.0,
        description="caption size relative to the default (6% of the frame height; 7.5% of the width for Shorts)",
    )
    caption_colour: str = "#FFFFFF"
    caption_outline_colour: str = "#000000"
    caption_position: Literal["bottom", "middle", "top"] = "bottom"
    caption_box: bool = Field(False, description="an opaque box behind the captions instead of an outline")
    caption_mode: Literal["lines", "karaoke"] = Field(
        "lines",
        description="long-form captions: whole lines, or karaoke (the word being spoken highlighted); "
        "Shorts always use karaoke",
    )
    caption_highlight_colour: str = Field(
        "#FFCC00", description="the spoken word's colour in karaoke captions"
    )
    intro: str | None = Field(
        None, description="video or image shown before the narration (relative to the repo root)"
    )
    outro: str | None = Field(
        None, description="video or image shown after the narration (relative to the repo root)"
    )
    title_colour: str = Field("#FFFFFF", description="thumbnail title colour")
    title_accent: str = Field("#FFCC00", description="thumbnail banner and stripe colour")
    title_uppercase: bool = Field(True, description="thumbnail titles in capitals on the overlay layout")

    @field_validator(
        "caption_colour", "caption_outline_colour", "caption_highlight_colour", "title_colour", "title_accent"
    )
    @classmethod
    def _colour(cls, v: str) -> str:
        if not HEX_COLOUR.match(v):
            raise ValueError(f"{v!r} is not a colour; use #RRGGBB, e.g. '#FFCC00'")
        return v.upper()

    @field_validator("intro", "outro")
    @classmethod
    def _media_file(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if not v.lower().endswith(MEDIA_SUFFIXES):
            raise ValueError(f"{v!r}: use a video or image file ({', '.join(MEDIA_SUFFIXES)})")
        if not project_path(str(info.field_name), v).is_file():
            raise ValueError(f"{v!r} is not a file (relative to the repo root)")
        return v

    @property
    def intro_path(self) -> Path | None:
        return (REPO / self.intro).resolve() if self.intro else None

    @property
    def outro_path(self) -> Path | None:
        return (REPO / self.outro).resolve() if self.outro else None


class ChannelConfig(Strict):
    channel: str = Field(description="id: lowercase letters, digits and _; used in DAG ids and folders")
    title: str
    language: Literal["en", "pt-BR"]
    timezone: str = "UTC"
    schedule: str | None = Field(None, description="cron expression for daily runs, or null for manual only")
    target_seconds: Annotated[int, Field(ge=20, le=1800)] = 120
    sources_dir: str = Field(description="folder of the channel's local source documents (Markdown)")
    topics: list[str] = Field(default_factory=list, description="backlog, taken in order")
    voice: Voice = Voice()
    audio: Audio = Audio()
    publish: Publish = Publish()
    shorts: Shorts = Shorts()
    checkpoints: Checkpoints = Checkpoints()
    knowledge: Knowledge = Knowledge()
    research: Research = Research()
    llm: LLM = LLM()
    broll: Broll = Broll()
    audio_qa: AudioQA = AudioQA()
    style: Style = Style()
    costs: Costs = Costs()
    alerts: ChannelAlerts = ChannelAlerts()

    @field_validator("topics")
    @classmethod
    def _plain_topics(cls, v: list[str]) -> list[str]:
        # a topic becomes the title and the first spoken sentence: markup would be read out or refused
        for i, t in enumerate(v, 1):
            if removed := metadata.removed_by_clean(t):
                raise ValueError(
                    f"topic {i}: remove markup ({', '.join(removed)}) from {t!r}: topics are plain text"
                )
            if not metadata.has_words(t):
                raise ValueError(f"topic {i} ({t!r}) has no words: write the topic out, or remove it")
            if len(plain := metadata.clean(t)) > metadata.TOPIC_MAX:
                raise ValueError(
                    f"topic {i} ({plain[:60]!r}...) is {len(plain):,} characters; a topic is at most "
                    f"{metadata.TOPIC_MAX} (it becomes the video's title and its first spoken sentence)"
                )
        return [" ".join(t.split()) for t in v]

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, v: str) -> str:
        if not CHANNEL_ID.match(v):
            raise ValueError(
                "must be 2-41 characters: a lowercase letter, then lowercase letters, digits or _"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {v!r}; use an IANA name such as 'America/Sao_Paulo'"
            ) from None
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from croniter import croniter  # light; only used to validate

        if not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a cron expression (e.g. '0 9 * * *'), use null for manual only")
        return v

    @model_validator(mode="after")
    def _voice_speaks_language(self) -> ChannelConfig:
        if self.voice.provider == "piper" and self.language != "en":
            raise ValueError(
                f"voice.provider piper has no {self.language} voice installed (only English); "
                "use voice.provider: espeak or azure"
            )
        return self

    @field_validator("sources_dir")
    @classmethod
    def _sources_exist(cls, v: str) -> str:
        if not project_path("sources_dir", v).is_dir():
            raise ValueError(f"sources_dir {v!r} is not a folder (relative to the repo root)")
        return v

    @property
    def sources_path(self) -> Path:
        return (REPO / self.sources_dir).resolve()

    @property
    def text_search_config(self) -> str:
        return LANGUAGES[self.language][0]

    @property
    def voice_name(self) -> str:
        return self.voice.name or LANGUAGES[self.language][1]

    @property
    def asset_uri(self) -> str:
        return f"x-nicheflow://{self.channel}/longform"


def _format_errors(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid channel config"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field; allowed: " + ", ".join(_allowed(e["loc"]))
        lines.append(f"  - {where}: {msg}")
    return "\n".join(lines)


def _allowed(loc: tuple) -> list[str]:
    model: type[BaseModel] = ChannelConfig
    for part in loc[:-1]:
        ann = model.model_fields[str(part)].annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
    return list(model.model_fields)


def load_config(path: Path) -> ChannelConfig:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping of fields at the top level (channel: ..., title: ...), "
            f"not {type(raw).__name__ if raw is not None else 'nothing'}"
        )
    try:
        cfg = ChannelConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(path, e)) from None
    if cfg.channel != path.stem:
        raise ConfigError(f"{path}: channel: {cfg.channel!r} must match the file name ({path.stem!r})")
    return cfg


@dataclass(frozen=True)
class Loaded:
    configs: dict[str, ChannelConfig]
    errors: dict[str, str]  # file name -> message


def load_all(directory: Path | None = None) -> Loaded:
    """Every *.yaml in the config folder; a broken file is reported in `errors`, never raised."""
    directory = directory or config_dir()
    configs: dict[str, ChannelConfig] = {}
    errors: dict[str, str] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            cfg = load_config(path)
            if cfg.channel in configs:
                raise ConfigError(
                    f"{path}: channel: {cfg.channel!r} is already defined by {cfg.channel}.yaml, which is "
                    "used; remove one of the two files"
                )
        except ConfigError as e:
            errors[path.name] = str(e)
            continue
        configs[cfg.channel] = cfg
    return Loaded(configs, errors)


def get_config(channel: str) -> ChannelConfig:
    for suffix in (".yaml", ".yml"):
        path = config_dir() / f"{channel}{suffix}"
        if path.exists():
            return load_config(path)
    raise ConfigError(f"no config for channel {channel!r} in {config_dir()}")
