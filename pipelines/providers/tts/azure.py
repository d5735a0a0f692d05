"""Azure Speech neural voices through the official SDK (azure.cognitiveservices.speech), with word timings.

The narration goes in SSML (text escaped; voice, speaking style and rate per channel). The SDK's
WordBoundary events carry `audio_offset` in 100-ns ticks and `duration` as a timedelta; punctuation
boundaries are ignored and spoken words are mapped back onto the written words, so a caption shows
"Moon," as written.

Credentials: AZURE_SPEECH_KEY and AZURE_SPEECH_REGION (the Airflow connection azure_speech_default
sets them: password = key, host = region), or AZURE_SPEECH_ENDPOINT instead of a region (a proxy, a
container, the tests' local server). Without a key the offline voice speaks and the log says so; a key
the service refuses (AzureKeyRejected), or a voice or style it does not know (AzureMisconfigured), stops the
stage at once with what to fix: both are permanent. Other service failures raise TTSServiceDown (a
TTSUnavailable), so the stage can fall back to the offline voice.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from pipelines import latency
from pipelines.errors import PermanentError
from pipelines.media.align import onto_written
from pipelines.providers.tts.base import TTSServiceDown, WordTiming

log = logging.getLogger(__name__)

DEFAULT_VOICE = {"en": "en-US-JennyNeural", "pt-BR": "pt-BR-FranciscaNeural"}
BASE_WPM = 150  # an Azure neural voice's pace at rate 0%, roughly; rate_wpm is relative to it
TICKS_PER_SECOND = 10_000_000
WORD_PART = re.compile(r"[^\W_]+")
XML_QUOTES = {'"': "&quot;", "'": "&apos;"}
KEY_HELP = (
    "set a valid key as the password of the Airflow connection azure_speech_default (or AZURE_SPEECH_KEY) "
    "and the region it was created in as that connection's host (or AZURE_SPEECH_REGION), e.g. westeurope"
)


class AzureMisconfigured(PermanentError, ValueError):
    """The Azure Speech settings cannot work (no region, a voice or style the service refuses): retrying or
    falling back would hide a configuration error."""


class AzureKeyRejected(AzureMisconfigured):
    """The service refused the key: set a valid key and its region."""


def ssml(text: str, voice: str, style: str | None, rate_wpm: int) -> str:
    """The SSML document for one narration segment; `text` is escaped (& < > " ')."""
    locale = "-".join(voice.split("-")[:2])  # en-US-JennyNeural -> en-US
    rate = f"{round((rate_wpm / BASE_WPM - 1) * 100):+d}%"
    body = f"<prosody rate={quoteattr(rate)}>{escape(text, XML_QUOTES)}</prosody>"
    if style:
        body = f"<mstts:express-as style={quoteattr(style)}>{body}</mstts:express-as>"
    return (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        f'xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang={quoteattr(locale)}>'
        f"<voice name={quoteattr(voice)}>{body}</voice></speak>"
    )


def onto_written_words(text: str, spoken: list[tuple[str, float, float]]) -> list[WordTiming]:
    """Spoken words [(text, start, end)], in order, onto the whitespace words of `text`: spoken words inside
    one written word merge; a written word with nothing to say (a lone "—") joins the word before it, one no
    spoken word matched shares the time between its neighbours (`pipelines.media.align`)."""
    tokens = text.split()
    end = max((e for _, _, e in spoken), default=0.0)
    timed = onto_written(
        tokens, [_units(t) for t in tokens], [(_units(said), s, e) for said, s, e in spoken], (0.0, end)
    )
    return timed


def _units(word: str) -> list[str]:
    """What is compared of a word: its letters and digits, lower case ("\"It's" -> ["it", "s"])."""
    return WORD_PART.findall(word.lower())


class AzureTTS:
    """An Azure Speech neural voice, with the channel's style and rate (see the module's docstring)."""

    name = "azure"

    def __init__(
        self,
        voice: str,
        style: str | None,
        rate_wpm: int,
        key: str,
        region: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        if not (region or endpoint):
            raise AzureMisconfigured(f"Azure Speech needs the region of the key: {KEY_HELP}")
        self.voice, self.style, self.rate_wpm = voice, style, rate_wpm
        self._key, self._region, self._endpoint = key, region, endpoint
        self.description = (
            f"Azure Speech neural voice {voice}"
            + (f" ({style})" if style else "")
            + " (synthetic; not a human narrator)"
        )

    def synthesize(self, text: str, out_wav: Path) -> list[WordTiming]:
        """Speak `text` into a 48 kHz mono 16-bit WAV at `out_wav`; return the timing of each written word. A
        refused key, voice or style raises AzureKeyRejected or AzureMisconfigured (permanent); other service
        failures TTSServiceDown."""
        import azure.cognitiveservices.speech as speechsdk

        if not text.strip():
            raise ValueError("nothing to synthesize: the text is empty")
        if self._endpoint:
            config = speechsdk.SpeechConfig(endpoint=self._endpoint, subscription=self._key)
        else:
            config = speechsdk.SpeechConfig(subscription=self._key, region=self._region)
        config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Riff48Khz16BitMonoPcm)
        synthesizer = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=None)
        spoken: list[tuple[str, float, float]] = []

        def on_boundary(evt) -> None:
            if evt.boundary_type == speechsdk.SpeechSynthesisBoundaryType.Word:
                start = evt.audio_offset / TICKS_PER_SECOND
                spoken.append((evt.text, start, start + evt.duration.total_seconds()))

        synthesizer.synthesis_word_boundary.connect(on_boundary)
        with latency.timed(self.name, "synthesis") as call:
            result = synthesizer.speak_ssml_async(ssml(text, self.voice, self.style, self.rate_wpm)).get()
            if result.reason == speechsdk.ResultReason.Canceled:
                call.outcome = f"canceled_{result.cancellation_details.error_code.name.lower()}"
        if result.reason == speechsdk.ResultReason.Canceled:
            details = result.cancellation_details
            if details.error_code in (
                speechsdk.CancellationErrorCode.AuthenticationFailure,
                speechsdk.CancellationErrorCode.Forbidden,
            ):
                where = (
                    f". The key was sent to the endpoint {self._endpoint} (AZURE_SPEECH_ENDPOINT), so "
                    "no region is used: set the key of that endpoint's resource, or unset "
                    "AZURE_SPEECH_ENDPOINT to use the region"
                    if self._endpoint
                    else ""
                )
                raise AzureKeyRejected(
                    f"Azure Speech refused the key ({details.error_details}); {KEY_HELP}{where}"
                )
            if details.error_code == speechsdk.CancellationErrorCode.BadRequest:
                raise AzureMisconfigured(
                    f"Azure Speech refused the request for voice {self.voice!r}"
                    f"{f' style {self.style!r}' if self.style else ''}: {details.error_details}. Check "
                    "voice.name and voice.style in the channel's config"
                )
            raise TTSServiceDown(f"Azure Speech failed ({details.error_code.name}): {details.error_details}")
        out_wav = Path(out_wav)
        out_wav.parent.mkdir(parents=True, exist_ok=True)
        out_wav.write_bytes(result.audio_data)
        words = onto_written_words(text, spoken)
        log.info(
            "azure (%s, %d wpm): %d words, %.2f s -> %s",
            self.voice,
            self.rate_wpm,
            len(words),
            result.audio_duration.total_seconds(),
            out_wav,
        )
        return words


def azure_from_env(voice: str | None, style: str | None, language: str, rate_wpm: int) -> AzureTTS | None:
    """An Azure voice keyed by AZURE_SPEECH_KEY (region or endpoint from AZURE_SPEECH_REGION /
    AZURE_SPEECH_ENDPOINT), or None when no key is set."""
    key = os.environ.get("AZURE_SPEECH_KEY")
    if not key:
        return None
    return AzureTTS(
        voice or DEFAULT_VOICE[language],
        style,
        rate_wpm,
        key,
        os.environ.get("AZURE_SPEECH_REGION"),
        os.environ.get("AZURE_SPEECH_ENDPOINT"),
    )
