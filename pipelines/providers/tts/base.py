"""The TTS slot's interface: a voice `synthesize(text, wav) -> [WordTiming]`s, times in seconds relative
to the WAV written; `description` is what the video's description says spoke. A voice that cannot be used
raises a TTSUnavailable: TTSNotInstalled (install what the message names) or TTSServiceDown (try again);
the audio stage then narrates with the offline voice."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pipelines.errors import NicheflowError, PermanentError, TransientError
from pipelines.media.align import WordTiming

__all__ = ["TTS", "TTSNotInstalled", "TTSServiceDown", "TTSUnavailable", "WordTiming"]


class TTSUnavailable(NicheflowError, RuntimeError):
    """A voice cannot be used (library missing, service unreachable); the offline voice may stand in.
    Raised as TTSNotInstalled or TTSServiceDown."""


class TTSNotInstalled(TTSUnavailable, PermanentError):
    """The voice's library, model or data is not installed: install what the message names."""


class TTSServiceDown(TTSUnavailable, TransientError):
    """An online voice failed for the service's own reasons (unreachable, timed out, overloaded)."""


class TTS(Protocol):
    """A narration voice: espeak-ng (tts.espeak), Piper (tts.piper) or Azure Speech (tts.azure)."""

    name: str
    description: str  # said in the video's description: which voice spoke

    def synthesize(self, text: str, out_wav: Path) -> list[WordTiming]:
        """Speak `text` into a WAV at `out_wav`; return each written word's timing, in seconds from the WAV's
        start. A voice that cannot be used raises a TTSUnavailable; empty text, ValueError."""
        ...
