"""Render benchmark (a script, not a test): render_video against MoviePy 2, the encoder floor and the
encoder alone, for long-form (16:9) and Shorts (9:16).

    .venv/bin/python tests/bench/bench_render.py [--seconds 60] [--shorts-seconds 45] [--long-seconds 600]
                                                 [--skip-moviepy] [--repeat 3] [--keep DIR]

The video: SECONDS of 1920x1080 at 30 fps from 12 generated stills (Ken Burns moves, 0.5 s
crossfades), espeak narration and burned captions; the Short: SHORTS-SECONDS of 1080x1920 from 12
generated portrait stills, the same narration and captions laid out for 9:16. Cases, all in this run
and with the same encoder settings (libx264 veryfast, crf 23):
  render_video         nicheflow's renderer, long-form;
  moviepy              the same video with MoviePy 2 (ImageClip + resized zoom, crossfade, SubtitlesClip);
  encoder_floor        one still looped, not moving, same audio: what the encoder alone costs;
  encode_only          render_video's own output decoded and encoded again: what the encoder alone costs on
                       this very motion (decoding adds a few percent), the floor for any renderer of it;
  shorts_render        render_video on the Short;
  shorts_encode_only   the Short's own output decoded and encoded again;
  render_long          render_video on a LONG-SECONDS video (same stills, 10x as many scenes): memory.
Each case runs in its own process; its peak memory is the peak RSS of the ffmpeg processes it
started (for MoviePy also of its own Python process, which composes the frames). Every case reports
its CPU seconds and cores busy (CPU-s / wall-s; 2.0 is both cores of this machine all the time), and
how many cores OTHER processes kept busy meanwhile (others_cores, from /proc/stat: the machine is
shared, and a slow spell shows there). The short cases run REPEAT times, interleaved (each render next
to its own encode_only), so a slow spell of a shared machine hits them alike; the run with the median
time stands for each, and each round's render/encode_only ratio is reported too. Prints one JSON line
per run and a summary with the realtime factor (render seconds per video second) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelines.media import render  # noqa: E402
from pipelines.media.captions import build_cues, write_ass, write_srt  # noqa: E402
from pipelines.media.ffmpeg import audio_duration, probe, run_ffmpeg  # noqa: E402
from pipelines.media.fonts import BOLD  # noqa: E402
from pipelines.providers.broll.generated import GeneratedVisuals  # noqa: E402
from pipelines.providers.tts.espeak import EspeakTTS  # noqa: E402

SIZE = (1920, 1080)
SHORTS_SIZE = (1080, 1920)
FPS = 30
STILLS = 12
PRESET, CRF = "veryfast", 23
SENTENCE = (
    "Honey found in ancient Egyptian tombs was still edible after three thousand years, because its low "
    "water content and natural acidity stop bacteria from growing. "
)


def inputs(folder: Path, seconds: float, size: tuple[int, int] = SIZE) -> tuple[Path, list, list[Path]]:
    """Narration of at least `seconds`, its caption cues (cut at `seconds`) and the 12 stills at `size`."""
    audio = folder / f"narration{seconds:g}.wav"
    repeats = 4
    while True:
        words = EspeakTTS("en-us").synthesize(SENTENCE * repeats, audio)
        if audio_duration(audio) >= seconds:
            break
        repeats *= 2
    cues = [c for c in build_cues(words) if c.start < seconds - 0.1]
    gen = GeneratedVisuals()
    suffix = "" if size == SIZE else f"_{size[0]}x{size[1]}"
    stills = [
        gen.make(f"Scene {i + 1}: honey", SENTENCE, folder / f"still{i}{suffix}.png", size=size, seed=i).path
        for i in range(STILLS)
    ]
    return audio, cues, stills


def _scenes(stills: list[Path], seconds: float, count: int) -> list[render.Scene]:
    return [
        render.Scene(stills[i % len(stills)], seconds * i / count, seconds * (i + 1) / count)
        for i in range(count)
    ]


def case_render(folder: Path, seconds: float, data, name: str, size: tuple[int, int] = SIZE) -> Path:
    audio, cues, stills = data
    scenes = STILLS * max(1, round(seconds / 60))
    subs = write_ass(cues, folder / f"captions{seconds:g}_{size[0]}x{size[1]}.ass", *size)
    out = folder / f"{name}.mp4"
    render.render_video(
        _scenes(stills, seconds, scenes),
        audio,
        out,
        size=size,
        fps=FPS,
        subtitles=subs,
        duration=seconds,
        preset=PRESET,
        crf=CRF,
    )
    return out


def case_moviepy(folder: Path, seconds: float, data) -> Path:
    from moviepy import (
        AudioFileClip,
        CompositeVideoClip,
        ImageClip,
        TextClip,  # noqa: I001
        concatenate_videoclips,
        vfx,
    )
    from moviepy.video.tools.subtitles import SubtitlesClip

    audio, cues, stills = data
    fade = 0.5
    step = seconds / STILLS
    clips = []
    for i, still in enumerate(stills):
        length = step + (fade if i < STILLS - 1 else 0)
        zoom = ImageClip(str(still)).with_duration(length).resized(lambda t, d=length: 1 + 0.12 * t / d)
        clip = CompositeVideoClip([zoom.with_position("center")], size=SIZE).with_duration(length)
        clips.append(clip.with_effects([vfx.CrossFadeIn(fade)]) if i else clip)
    video = concatenate_videoclips(clips, method="compose", padding=-fade)
    srt = write_srt(cues, folder / "captions.srt")

    def text(t: str):
        return TextClip(
            font=str(BOLD),
            text=t,
            font_size=65,
            color="white",
            stroke_color="black",
            stroke_width=5,
            method="caption",
            size=(SIZE[0] - 240, None),
        )

    subs = SubtitlesClip(str(srt), make_textclip=text, encoding="utf-8")
    final = CompositeVideoClip([video, subs.with_position(("center", SIZE[1] - 200))], size=SIZE)
    final = final.with_duration(seconds).with_audio(AudioFileClip(str(audio)).subclipped(0, seconds))
    out = folder / "moviepy.mp4"
    final.write_videofile(
        str(out),
        fps=FPS,
        codec="libx264",
        audio_codec="aac",
        preset=PRESET,
        threads=2,
        ffmpeg_params=["-crf", str(CRF), "-pix_fmt", "yuv420p"],
        logger=None,
        temp_audiofile=str(folder / "moviepy_audio.m4a"),
    )
    return out


def case_floor(folder: Path, seconds: float, data) -> Path:
    audio, _, stills = data
    out = folder / "floor.mp4"
    frames = round(seconds * FPS)
    graph = (
        f"[0:v]scale={SIZE[0]}:{SIZE[1]}:out_range=tv:out_color_matrix=bt709,format=yuv420p,"
        f"loop=loop={frames - 1}:size=1:start=0,settb=1/{FPS},setpts=N[vout];"
        f"[1:a]atrim=duration={seconds},asetpts=PTS-STARTPTS,aresample=48000[aout]"
    )
    args = ["-framerate", str(FPS), "-i", str(stills[0]), "-i", str(audio), "-filter_complex", graph,
            "-map", "[vout]", "-map", "[aout]"]  # fmt: skip
    args += render._encode_args(out, fps=FPS, duration=seconds, preset=PRESET, crf=CRF)
    run_ffmpeg(args, what="encoder floor")
    return out


def case_encode_only(folder: Path, seconds: float, rendered: str, name: str) -> Path:
    out = folder / f"{name}.mp4"
    args = ["-i", str(folder / f"{rendered}.mp4"), "-map", "0:v", "-map", "0:a"]
    args += render._encode_args(out, fps=FPS, duration=seconds, preset=PRESET, crf=CRF)
    run_ffmpeg(args, what="encode only")
    return out


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (0 where /proc/stat is missing)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def _worker(case: str, folder: str, seconds: float, queue) -> None:
    folder_path = Path(folder)
    size = SHORTS_SIZE if case.startswith("shorts") else SIZE
    data = inputs(folder_path, seconds, size)  # not timed; its espeak child is small next to ffmpeg
    used = [resource.getrusage(who) for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF)]
    cpu0 = sum(u.ru_utime + u.ru_stime for u in used)
    machine0 = _busy_cpu_s()
    t0 = time.perf_counter()
    if case == "moviepy":
        out = case_moviepy(folder_path, seconds, data)
    elif case == "encoder_floor":
        out = case_floor(folder_path, seconds, data)
    elif case == "encode_only":
        out = case_encode_only(folder_path, seconds, "render_video", case)
    elif case == "shorts_encode_only":
        out = case_encode_only(folder_path, seconds, "shorts_render", case)
    else:
        out = case_render(folder_path, seconds, data, case, size)
    wall = time.perf_counter() - t0
    machine = _busy_cpu_s() - machine0
    children, own = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    cpu = children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime - cpu0
    queue.put(
        (wall, cpu, max(0.0, machine - cpu), str(out), children.ru_maxrss // 1024, own.ru_maxrss // 1024)
    )


def run_median(cases: list[tuple[str, float]], folder: Path, repeat: int) -> tuple[dict[str, dict], list]:
    """Each (case, seconds) `repeat` times, interleaved; per case the run with the median wall time, and
    every round's rows (to compare a render with the encode_only run right after it)."""
    runs: dict[str, list[dict]] = {c: [] for c, _ in cases}
    rounds = []
    for _ in range(repeat):
        rounds.append({case: run_case(case, folder, seconds) for case, seconds in cases})
        for case, row in rounds[-1].items():
            runs[case].append(row)
    medians = {
        c: {**sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2], "wall_s_runs": [r["wall_s"] for r in rs]}
        for c, rs in runs.items()
    }
    return medians, rounds


def _versus(rows: dict[str, dict], rounds: list[dict], render_case: str, encode_case: str) -> dict:
    """A render against the encoder alone on its own output: by wall (median runs, and round by round)
    and by CPU, with the cores each kept busy."""
    ours, enc = rows[render_case], rows[encode_case]
    paired = [r[render_case]["wall_s"] / r[encode_case]["wall_s"] for r in rounds]
    return {
        "realtime_factor": ours["realtime_factor"],
        "wall_s": ours["wall_s"],
        "encode_only_wall_s": enc["wall_s"],
        "over_encode_only": round(ours["wall_s"] / enc["wall_s"], 3),
        "over_encode_only_rounds": [round(p, 3) for p in paired],
        "over_encode_only_rounds_median": round(statistics.median(paired), 3),
        "over_encode_only_cpu": round(ours["cpu_s"] / enc["cpu_s"], 3),
        "cores_busy": ours["cores_busy"],
        "encode_only_cores_busy": enc["cores_busy"],
        "wall_s_runs": ours["wall_s_runs"],
        "encode_only_wall_s_runs": enc["wall_s_runs"],
        "others_cores_runs": [r[render_case]["others_cores"] for r in rounds],
    }


def run_case(case: str, folder: Path, seconds: float) -> dict:
    """Run one case in a fresh process, so its peak RSS is its own."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(case, str(folder), seconds, queue))
    proc.start()
    wall, cpu, others, out, children_mb, own_mb = queue.get()
    proc.join()
    info = probe(out)
    assert info.video is not None
    row = {
        "case": case,
        "size": f"{info.video.width}x{info.video.height}",
        "fps": FPS,
        "video_s": round(info.duration, 2),
        "wall_s": round(wall, 2),
        "realtime_factor": round(wall / info.duration, 3),
        # CPU seconds (this case's processes) per video second, halved: the factor on 2 idle cores
        "cpu_s": round(cpu, 1),
        "cpu_factor_2_cores": round(cpu / 2 / info.duration, 3),
        "cores_busy": round(cpu / wall, 2),
        "others_cores": round(others / wall, 2),  # other processes of the machine, meanwhile
        "ffmpeg_peak_rss_mb": children_mb,
        "mbytes": round(Path(out).stat().st_size / 1e6, 2),
    }
    if case == "moviepy":
        row["python_peak_rss_mb"] = own_mb
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--shorts-seconds", type=float, default=45.0, help="0 leaves the Shorts cases out")
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument("--skip-moviepy", action="store_true", help="leave out the slow MoviePy case")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each short case (the median stands)")
    opts = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = [(c, opts.seconds) for c in ("render_video", "encoder_floor", "encode_only")]
        if opts.shorts_seconds:
            cases += [(c, opts.shorts_seconds) for c in ("shorts_render", "shorts_encode_only")]
        rows, rounds = run_median(cases, folder, opts.repeat)
        if not opts.skip_moviepy:
            rows["moviepy"] = run_case("moviepy", folder, opts.seconds)
        if opts.long_seconds:
            rows["render_long"] = run_case("render_long", folder, opts.long_seconds)
        ours = rows["render_video"]
        summary = {
            "case": "summary",
            "realtime_factor": ours["realtime_factor"],
            "cpu_factor_2_cores": ours["cpu_factor_2_cores"],
            "goal_realtime_factor": 0.40,
            "over_encoder_floor": round(ours["wall_s"] / rows["encoder_floor"]["wall_s"], 2),
            "over_encoder_floor_cpu": round(ours["cpu_s"] / rows["encoder_floor"]["cpu_s"], 2),
            "over_encode_only": round(ours["wall_s"] / rows["encode_only"]["wall_s"], 2),
            "render_video_wall_s_runs": ours["wall_s_runs"],
            "encode_only_realtime_factor": rows["encode_only"]["realtime_factor"],
            "goal_over_encode_only": 1.10,
            "long_form": _versus(rows, rounds, "render_video", "encode_only"),
            "cores_busy": {c: r["cores_busy"] for c, r in rows.items()},
        }
        if opts.shorts_seconds:
            summary["shorts"] = _versus(rows, rounds, "shorts_render", "shorts_encode_only")
        if "moviepy" in rows:
            summary["moviepy_over_render_video"] = round(rows["moviepy"]["wall_s"] / ours["wall_s"], 1)
            summary["moviepy_over_render_video_cpu"] = round(rows["moviepy"]["cpu_s"] / ours["cpu_s"], 1)
        if "render_long" in rows:
            long = rows["render_long"]
            summary["peak_rss_mb"] = {
                f"{ours['video_s']:g}s": ours["ffmpeg_peak_rss_mb"],
                f"{long['video_s']:g}s": long["ffmpeg_peak_rss_mb"],
            }
            summary["long_realtime_factor"] = long["realtime_factor"]
        summary["load_average_before_after"] = [round(v, 2) for v in (*load_before, *os.getloadavg())]
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
