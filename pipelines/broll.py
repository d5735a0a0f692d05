"""Stage 6: one visual per script segment, with its source and licence."""

from __future__ import annotations

from dataclasses import asdict

from pipelines.production import Production, read_json, write_json
from pipelines.providers.visuals import GeneratedVisuals
from pipelines.script import segment_text


def gather(p: Production, script_rel: str, revision: int) -> dict:
    out = p.stage_dir("broll", revision)
    script = read_json(p.abs(script_rel))
    provider = GeneratedVisuals()
    visuals = []
    for i, seg in enumerate(script["segments"]):
        v = provider.make(seg["heading"], segment_text(seg), out / f"segment-{i:02d}.png",
                          seed=p.id * 100 + i + revision * 7)
        visuals.append({**asdict(v), "path": p.rel(v.path), "segment": i})
    manifest = write_json(out / "visuals.json", {"provider": provider.name, "visuals": visuals})
    return {"visuals": p.rel(manifest)}
