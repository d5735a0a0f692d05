"""Azure Speech through the real SDK (azure.cognitiveservices.speech), against a local server speaking the
service's websocket protocol; the narration stage's fallback to the offline voice; one live test."""

from __future__ import annotations

import logging
import os
import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pipelines.errors import PermanentError, TransientError, is_permanent
from pipelines.files import read_json
from pipelines.media.ffmpeg import audio_duration
from pipelines.providers.tts.azure import AzureKeyRejected, AzureMisconfigured, AzureTTS
from pipelines.providers.tts.base import TTSServiceDown, TTSUnavailable
from pipelines.providers.tts.espeak import EspeakTTS
from pipelines.stages.audio import get_tts
from tests.helpers.fake_azure_speech import GAP_SECONDS, WORD_SECONDS, FakeAzureSpeech
from tests.helpers.narration import SCRIPT, narrate_sample

SSML_NS = "{http://www.w3.org/2001/10/synthesis}"
TEXT = 'Tom & Jerry <said> "it\'s 1969", then — left.'


@pytest.fixture
def azure():
    server = FakeAzureSpeech(key="right-key")
    yield server
    server.close()


def voice(azure: FakeAzureSpeech, key: str = "right-key", **kw) -> AzureTTS:
    return AzureTTS(
        kw.pop("name", "en-US-JennyNeural"),
        kw.pop("style", "narration-relaxed"),
        kw.pop("rate_wpm", 165),
        key,
        endpoint=azure.endpoint,
    )


def test_speaks_escaped_ssml_and_word_boundaries_become_word_timings(
    azure: FakeAzureSpeech, tmp_path: Path
) -> None:
    out = tmp_path / "azure.wav"
    words = voice(azure).synthesize(TEXT, out)

    # the SSML the service got is well-formed, carries voice, style and rate, and gives back the exact text
    doc = ET.fromstring(azure.ssml[-1])
    assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    assert doc.find(f"{SSML_NS}voice").get("name") == "en-US-JennyNeural"
    express = doc.find(f"{SSML_NS}voice/{{https://www.w3.org/2001/mstts}}express-as")
    assert express.get("style") == "narration-relaxed"
    prosody = express.find(f"{SSML_NS}prosody")
    assert prosody.get("rate") == "+10%" and prosody.text == TEXT  # 165 wpm against the voice's ~150

    # every written word once, in order; punctuation boundaries ("&", "<", quotes, "—", ".") ignored
    assert [w.text for w in words] == ["Tom &", "Jerry", "<said>", "\"it's", '1969",', "then —", "left."]
    step = WORD_SECONDS + GAP_SECONDS
    assert words[0].start == pytest.approx(0.05) and words[0].end == pytest.approx(0.05 + WORD_SECONDS)
    # "Jerry" comes after "Tom" and the "&" boundary: offsets are ticks of 100 ns, durations timedeltas
    assert words[1].start == pytest.approx(0.05 + step + (0.25 + GAP_SECONDS))
    assert all(a.end <= b.start for a, b in zip(words, words[1:], strict=False))

    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 48000)
    assert words[-1].end <= audio_duration(out)
    assert "Azure Speech neural voice en-US-JennyNeural (narration-relaxed)" in voice(azure).description


def test_a_refused_key_fails_at_once_saying_what_to_fix(azure: FakeAzureSpeech, tmp_path: Path) -> None:
    with pytest.raises(AzureKeyRejected, match="refused the key.*azure_speech_default.*AZURE_SPEECH_REGION"):
        voice(azure, key="wrong-key").synthesize("Hello there.", tmp_path / "x.wav")
    assert azure.ssml == []  # refused at the handshake: nothing was sent


def test_an_unreachable_service_is_a_fallback_case(tmp_path: Path) -> None:
    server = FakeAzureSpeech()
    endpoint = server.endpoint
    server.close()  # nothing listens there any more
    with pytest.raises(TTSUnavailable, match="Azure Speech failed"):
        AzureTTS("en-US-JennyNeural", None, 165, "k", endpoint=endpoint).synthesize(
            "Hello.", tmp_path / "x.wav"
        )


def test_a_refused_key_is_permanent_and_names_the_connection_and_the_region(
    azure: FakeAzureSpeech, tmp_path: Path
) -> None:
    with pytest.raises(PermanentError) as e:
        voice(azure, key="wrong-key").synthesize("Hello there.", tmp_path / "x.wav")
    assert isinstance(e.value, AzureKeyRejected) and is_permanent(e.value)
    assert not isinstance(e.value, TTSUnavailable)  # the stage must not fall back to the offline voice
    message = str(e.value)
    assert "Azure Speech refused the key" in message and "wrong-key" not in message
    assert "Airflow connection azure_speech_default" in message and "AZURE_SPEECH_KEY" in message
    assert "AZURE_SPEECH_REGION" in message


def test_an_unreachable_service_is_transient(tmp_path: Path) -> None:
    server = FakeAzureSpeech()
    endpoint = server.endpoint
    server.close()
    with pytest.raises(TransientError) as e:
        AzureTTS("en-US-JennyNeural", None, 165, "k", endpoint=endpoint).synthesize(
            "Hello.", tmp_path / "x.wav"
        )
    assert isinstance(e.value, TTSServiceDown) and not is_permanent(e.value)
    assert "Azure Speech failed" in str(e.value)


def test_a_key_without_its_region_is_permanent() -> None:
    with pytest.raises(AzureMisconfigured, match="needs the region of the key.*AZURE_SPEECH_REGION") as e:
        AzureTTS("en-US-JennyNeural", None, 165, "k")
    assert is_permanent(e.value)


def test_credentials_decide_the_voice(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for var in ("AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION", "AZURE_SPEECH_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    with caplog.at_level(logging.WARNING):
        tts = get_tts("azure", "pt-BR-AntonioNeural", "pt-BR", 160)
    assert isinstance(tts, EspeakTTS) and tts.voice == "pt-br" and "espeak-ng" in tts.description
    assert "no key is set" in caplog.text and "offline voice espeak-ng" in caplog.text

    monkeypatch.setenv("AZURE_SPEECH_KEY", "k")
    with pytest.raises(ValueError, match="needs the region.*AZURE_SPEECH_REGION"):
        get_tts("azure", None, "en", 165)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westeurope")
    tts = get_tts("azure", None, "pt-BR", 160, "cheerful")
    assert isinstance(tts, AzureTTS) and (tts.voice, tts.style) == ("pt-BR-FranciscaNeural", "cheerful")
    assert "k" not in tts.description


def test_key_and_region_come_from_the_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from pipelines.paths import REPO

    monkeypatch.syspath_prepend(str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not
    sys.modules.pop("nicheflow_airflow.credentials", None)
    from nicheflow_airflow.credentials import export_credentials

    for var in ("AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION"):
        monkeypatch.setenv(var, "")  # recorded, so whatever export_credentials sets is undone afterwards
        monkeypatch.delenv(var)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AZURE_SPEECH_DEFAULT",
        '{"conn_type": "generic", "password": "key-from-airflow", "host": "westeurope"}',
    )
    assert "azure_speech_default" in export_credentials()
    assert (os.environ["AZURE_SPEECH_KEY"], os.environ["AZURE_SPEECH_REGION"]) == (
        "key-from-airflow",
        "westeurope",
    )


def azure_channel(monkeypatch: pytest.MonkeyPatch, endpoint: str, key: str = "right-key") -> dict:
    monkeypatch.setenv("AZURE_SPEECH_KEY", key)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", endpoint)
    return {"provider": "azure", "name": "en-US-GuyNeural", "style": "newscast", "rate_wpm": 150}


def test_narration_stage_speaks_with_azure(azure, configs, tmp_path, monkeypatch) -> None:
    p, art = narrate_sample(configs, tmp_path, voice=azure_channel(monkeypatch, azure.endpoint))
    assert art["voice"].startswith("Azure Speech neural voice en-US-GuyNeural (newscast)")
    assert len(azure.ssml) == len(SCRIPT["segments"])  # one request per segment
    timings = read_json(p.abs(art["timings"]))
    assert timings["voice"] == art["voice"]
    assert " ".join(w["text"] for w in timings["words"]) == " ".join(
        s["text"] for seg in SCRIPT["segments"] for s in seg["sentences"]
    )
    assert timings["loudness"]["integrated_lufs"] == pytest.approx(-14, abs=1)


def test_narration_stage_falls_back_to_the_offline_voice_when_azure_fails(
    configs, tmp_path, monkeypatch, caplog
) -> None:
    server = FakeAzureSpeech()
    endpoint = server.endpoint
    server.close()
    with caplog.at_level(logging.WARNING):
        p, art = narrate_sample(configs, tmp_path, voice=azure_channel(monkeypatch, endpoint))
    assert "espeak-ng" in art["voice"] and "Azure" not in art["voice"]  # the description says who spoke
    assert "voice azure failed" in caplog.text and "offline voice espeak-ng instead" in caplog.text
    assert read_json(p.abs(art["timings"]))["words"]


def test_narration_stage_stops_on_a_refused_key(azure, configs, tmp_path, monkeypatch) -> None:
    with pytest.raises(AzureKeyRejected, match="refused the key"):
        narrate_sample(configs, tmp_path, voice=azure_channel(monkeypatch, azure.endpoint, key="stale-key"))


@pytest.mark.skipif(
    not os.environ.get("AZURE_SPEECH_KEY") or not os.environ.get("AZURE_SPEECH_REGION"),
    reason="live Azure test: set AZURE_SPEECH_KEY and AZURE_SPEECH_REGION to run it",
)
def test_live_azure_speech(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SPEECH_ENDPOINT", raising=False)
    out = tmp_path / "live.wav"
    text = "The Hubble Space Telescope was launched in 1990, and it still works."
    words = get_tts("azure", "en-US-JennyNeural", "en", 165).synthesize(text, out)
    assert " ".join(w.text for w in words) == text
    assert all(a.start < a.end <= b.start for a, b in zip(words, words[1:], strict=False))
    assert 2 < audio_duration(out) < 10 and words[-1].end <= audio_duration(out)
