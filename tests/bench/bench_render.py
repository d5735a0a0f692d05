"""Render benchmark (a script, not a test): how close is render_video to the encoder's floor?

    .venv/bin/python tests/bench/bench_render.py [--seconds 20] [--keep DIR]

Renders one 1920x1080 30 fps video of SECONDS (8 generated stills, espeak narration, burned
captions) with render_video; then render_video with one still and no captions (what the slow
drift alone costs the encoder); then the "encoder floor": one still looped, not moving, with
the same encoder settings and audio. Prints one JSON line per case and a summary line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelines.media import render  # noqa: E402
from pipelines.media.captions import build_cues, write_ass  # noqa: E402
from pipelines.media.ffmpeg import audio_duration, probe, run_ffmpeg  # noqa: E402
from pipelines.providers.tts import EspeakTTS  # noqa: E402
from pipelines.providers.visuals import GeneratedVisuals  # noqa: E402

SIZE = (1920, 1080)
FPS = 30
SENTENCE = (
    "Honey found in ancient Egyptian tombs was still edible after three thousand years, because its low "
    "water content and natural acidity stop bacteria from growing. "
)


def render_case(folder: Path, seconds: float) -> tuple[float, Path, Path]:
    audio = folder / "narration.wav"
    words = EspeakTTS("en-us").synthesize(SENTENCE * 4, audio)
    if audio_duration(audio) < seconds:
        raise SystemExit(f"narration is shorter than {seconds} s; use a smaller --seconds")
    cues = [c for c in build_cues(words) if c.start < seconds]
    subs = write_ass(cues, folder / "captions.ass", *SIZE)
    gen = GeneratedVisuals()
    n = 8
    scenes = [
        render.Scene(
            gen.make(f"Scene {i + 1}: honey", SENTENCE, folder / f"still{i}.png", size=SIZE, seed=i).path,
            seconds * i / n,
            seconds * (i + 1) / n,
        )
        for i in range(n)
    ]
    out = folder / "render.mp4"
    t0 = time.perf_counter()
    render.render_video(scenes, audio, out, size=SIZE, fps=FPS, subtitles=subs, duration=seconds)
    return time.perf_counter() - t0, out, scenes[0].image


def drift_case(folder: Path, seconds: float, still: Path, audio: Path) -> tuple[float, Path]:
    """render_video with one still and no captions: the drift's cost for the encoder."""
    out = folder / "drift.mp4"
    t0 = time.perf_counter()
    render.render_video([render.Scene(still, 0, seconds)], audio, out, size=SIZE, fps=FPS, duration=seconds)
    return time.perf_counter() - t0, out


def floor_case(folder: Path, seconds: float, still: Path, audio: Path) -> tuple[float, Path]:
    out = folder / "floor.mp4"
    frames = round(seconds * FPS)
    graph = (
        f"[0:v]scale={SIZE[0]}:{SIZE[1]}:out_range=tv:out_color_matrix=bt709,format=yuv420p,"
        f"loop=loop={frames - 1}:size=1:start=0,settb=1/{FPS},setpts=N[vout];"
        f"[1:a]atrim=duration={seconds},asetpts=PTS-STARTPTS,aresample=48000[aout]"
    )
    args = ["-framerate", str(FPS), "-i", str(still), "-i", str(audio), "-filter_complex", graph,
            "-map", "[vout]", "-map", "[aout]"]  # fmt: skip
    args += render._encode_args(out, fps=FPS, duration=seconds, preset="veryfast", crf=23)
    t0 = time.perf_counter()
    run_ffmpeg(args, what="encoder floor")
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        render_s, render_out, still = render_case(folder, opts.seconds)
        render_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # ffmpeg's peak
        audio = folder / "narration.wav"
        drift_s, drift_out = drift_case(folder, opts.seconds, still, audio)
        floor_s, floor_out = floor_case(folder, opts.seconds, still, audio)
        cases = [
            ("render_video", render_s, render_out),
            ("one_still_drifting", drift_s, drift_out),
            ("encoder_floor", floor_s, floor_out),
        ]
        for case, wall, out in cases:
            info = probe(out)
            print(
                json.dumps(
                    {
                        "case": case,
                        "size": f"{SIZE[0]}x{SIZE[1]}",
                        "fps": FPS,
                        "video_s": info.duration,
                        "wall_s": round(wall, 2),
                        "x_realtime": round(info.duration / wall, 2),  # video seconds per wall second
                        "render_s_per_video_s": round(wall / info.duration, 3),  # as in render-anchors.md
                        "mbytes": round(out.stat().st_size / 1e6, 2),
                    }
                )
            )
        summary = {
            "render_peak_rss_mb": render_rss_mb,
            "render_over_floor": round(render_s / floor_s, 2),
            "drift_over_floor": round(drift_s / floor_s, 2),
        }
        print(json.dumps({"case": "summary", **summary}))


if __name__ == "__main__":
    main()
