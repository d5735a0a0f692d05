"""Narrations for tests: the narration stage run on a small script with the channel's YAML sections
replaced, and a narration voiced segment by segment and joined, as the audio stage does."""

from __future__ import annotations

import wave
from pathlib import Path

from pipelines.files import write_json
from pipelines.production import Production
from pipelines.stages.audio import narrate
from tests.helpers import edit_yaml

SCRIPT = {
    "title": "Octopuses",
    "segments": [
        {
            "heading": "Hearts",
            "sentences": [
                {"text": "The octopus has three hearts."},
                {"text": "Two pump blood to the gills."},
            ],
        },
        {"heading": "Blood", "sentences": [{"text": "Its blood is blue, because of copper."}]},
        {"heading": "Arms", "sentences": [{"text": "It can taste with its arms!"}]},
    ],
}


def narrate_sample(configs: Path, tmp_path: Path, **sections: dict) -> tuple[Production, dict]:
    """Run the narration stage for a small script on science_en, with YAML sections replaced."""
    path = configs / "science_en.yaml"
    edit_yaml(path, sections)
    p = Production(1, "science_en", "Octopuses", "running", tmp_path / "workspace")
    write_json(p.abs("script/r1/script.json"), SCRIPT)
    return p, narrate(p, "script/r1/script.json", 1).dump()  # the checkpoint's artifacts


PAUSE = 0.35


def narration(folder: Path, spoken: list[str], say, with_words: bool = False) -> tuple[Path, Path]:
    """Each text voiced on its own and joined with pauses, like the audio stage; timings.json holds the segment
    spans, and the voice's own word timings only if `with_words`."""
    folder.mkdir(parents=True, exist_ok=True)
    frames, spans, words, t, rate = b"", [], [], 0.0, 0
    for i, text in enumerate(spoken):
        wav = folder / f"segment-{i:02d}.wav"
        timed = say(text, wav) or []
        with wave.open(str(wav)) as w:
            rate, data = w.getframerate(), w.readframes(w.getnframes())
        words += [
            {"text": x.text, "start": round(t + x.start, 3), "end": round(t + x.end, 3), "segment": i}
            for x in timed
        ]
        spans.append({"segment": i, "start": round(t, 3), "end": round(t + len(data) / 2 / rate, 3)})
        frames += data + b"\0\0" * round(PAUSE * rate)
        t += len(data) / 2 / rate + PAUSE
    out = folder / "narration.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    timings = write_json(
        folder / "timings.json",
        {"voice": "test", "duration": round(t, 3), "words": words if with_words else [], "segments": spans},
    )
    return out, timings
