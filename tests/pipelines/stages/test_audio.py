"""The audio stage: narration of a script (voiced per segment, joined, loudness-normalised, word timings,
an optional music bed) and the channel's voice and audio settings."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config
from pipelines.files import read_json
from pipelines.media.audio_finish import ebur128
from pipelines.media.ffmpeg import probe
from tests.helpers.audio import band_db, samples, tone
from tests.helpers.narration import SCRIPT, narrate_sample


def test_narration_stage_with_a_music_bed(configs: Path, tmp_path: Path) -> None:
    music = tone(tmp_path / "bed.wav", 300, 2.5)
    p, art = narrate_sample(
        configs,
        tmp_path,
        voice={"provider": "espeak", "rate_wpm": 165},
        audio={"music": str(music), "music_db": -18},
    )

    assert {"narration", "timings", "duration", "voice", "rate_wpm", "mix"} <= set(art)
    narration, mix = p.abs(art["narration"]), p.abs(art["mix"])
    timings = read_json(p.abs(art["timings"]))
    integrated, true_peak = ebur128(narration)
    assert integrated == pytest.approx(-14, abs=1) and true_peak <= -1
    assert timings["loudness"] == {"integrated_lufs": integrated, "true_peak_dbtp": true_peak}
    assert probe(narration).audio.channels == 1 and probe(mix).audio.channels == 2
    assert probe(mix).duration == pytest.approx(art["duration"], abs=0.05)
    assert ebur128(mix)[1] <= -1
    # the narration stays voice only: no 300 Hz bed in it, while the mix has it in the pauses
    x, m = samples(narration), samples(mix)
    first, second = timings["segments"][:2]
    assert (
        band_db(m, 300, first["end"] + 0.1, second["start"] - 0.1)
        > band_db(x, 300, first["end"] + 0.1, second["start"] - 0.1) + 30
    )
    # segments back to back with the same pause, words inside their segment and on speech
    assert [round(b["start"] - a["end"], 2) for a, b in pairwise(timings["segments"])] == [0.45] * 2
    for w in timings["words"]:
        seg = timings["segments"][w["segment"]]
        assert seg["start"] <= w["start"] < w["end"] <= seg["end"]
    assert " ".join(w["text"] for w in timings["words"]) == " ".join(
        s["text"] for seg in SCRIPT["segments"] for s in seg["sentences"]
    )


@pytest.mark.parametrize(
    ("language", "section", "message"),
    [
        (
            "pt-BR",
            "voice:\n  provider: piper\n",
            "voice.provider piper has no pt-BR voice installed.*use voice.provider: espeak or azure",
        ),
        (
            "en",
            "audio:\n  music: music/none.mp3\n",
            "audio.music: .*'music/none.mp3' is not a file .*relative to the repo",
        ),
        ("en", "audio:\n  music_db: 6\n", "audio.music_db: .*less than or equal to 0"),
    ],
)
def test_voice_and_audio_config_errors_say_what_to_fix(
    tmp_path: Path, language: str, section: str, message: str
) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(
        f"channel: demo\ntitle: Demo\nlanguage: {language}\nsources_dir: knowledge/sources/science_en\n"
        + section,
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)
