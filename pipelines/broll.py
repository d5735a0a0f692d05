"""Stage 6: visuals per script segment, with source and licence. Each segment gets a first choice and
alternatives the reviewer can swap in at the b-roll checkpoint."""

from __future__ import annotations

from dataclasses import asdict

from pipelines.production import Production, read_json, write_json
from pipelines.providers.visuals import GeneratedVisuals
from pipelines.script import segment_text

OPTIONS = 3  # per segment: the first choice and two alternatives


def gather(p: Production, script_rel: str, revision: int) -> dict:
    out = p.stage_dir("broll", revision)
    script = read_json(p.abs(script_rel))
    provider = GeneratedVisuals()
    options = []
    for i, seg in enumerate(script["segments"]):
        seg_options = []
        for k in range(OPTIONS):
            v = provider.make(seg["heading"], segment_text(seg), out / f"segment-{i:02d}-{k}.png",
                              seed=p.id * 1000 + i * 10 + k + revision * 7919)
            seg_options.append({**asdict(v), "path": p.rel(v.path), "segment": i})
        options.append(seg_options)
    manifest = write_json(out / "visuals.json", {"provider": provider.name,
                                                 "visuals": [opts[0] for opts in options], "options": options})
    return {"visuals": p.rel(manifest)}


def choose(p: Production, visuals_rel: str, choices: dict[int, int]) -> str:
    """Write a copy of the manifest with the reviewer's choices; returns its relative path."""
    manifest = read_json(p.abs(visuals_rel))
    for seg, k in choices.items():
        manifest["visuals"][seg] = manifest["options"][seg][k]
    manifest["choices"] = {str(s): k for s, k in choices.items()}
    return p.rel(write_json(p.abs(visuals_rel).with_name("visuals.chosen.json"), manifest))
