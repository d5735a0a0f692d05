"""The layers hold: providers are leaves, media never reaches up, nothing imports in a circle, and the
production code never needs Airflow. Checked on the source (every import, also those inside functions)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from pipelines.paths import REPO

PACKAGES = ("pipelines", "knowledge")
# what a provider may import from the project besides its own slot's base: shared helpers only
PROVIDER_MAY_IMPORT = (
    "pipelines.providers.http",
    "pipelines.providers.google",
    "pipelines.latency",
    "pipelines.media",
    "pipelines.errors",
    "pipelines.files",
    "pipelines.paths",
    "pipelines.storage",  # where files are kept (a leaf: errors, files, paths)
    "pipelines.grounding",
    "pipelines.notes",
    "pipelines.metadata",
    "knowledge.store",
    "knowledge.text",
    "knowledge.sources",
)


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of the file; `from a import b` counts as a.b
    when a.b is a module of the project, else as a."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append((sub if sub in MODULES else node.module, id(node) in top))
    return out


FILES = {_module(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
MODULES = set(FILES)


def _project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def test_providers_import_only_their_base_and_shared_helpers():
    wrong = []
    for mod, path in FILES.items():
        parts = mod.split(".")
        if parts[:2] != ["pipelines", "providers"] or len(parts) < 4:
            continue
        own_base = ".".join(parts[:3] + ["base"])
        for name, _ in _imports(path):
            if _project(name) and name != own_base and not name.startswith(PROVIDER_MAY_IMPORT):
                wrong.append(f"{mod} imports {name}")
    assert wrong == []


def test_media_and_knowledge_never_reach_up_into_stages_or_providers():
    wrong = [
        f"{mod} imports {name}"
        for mod, path in FILES.items()
        if mod.startswith(("pipelines.media", "knowledge"))
        for name, _ in _imports(path)
        if name.startswith(("pipelines.stages", "pipelines.providers", "pipelines.review"))
    ]
    assert wrong == []


def test_no_import_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in FILES.items():
        for name, at_top in _imports(path):
            if at_top and name in MODULES and name != mod:
                graph[mod].add(name)
    cycles, done, stack = [], set(), []

    def visit(m: str) -> None:
        if m in stack:
            cycles.append(" -> ".join(stack[stack.index(m) :] + [m]))
            return
        if m in done:
            return
        stack.append(m)
        for n in sorted(graph[m]):
            visit(n)
        stack.pop()
        done.add(m)

    for m in sorted(MODULES):
        visit(m)
    assert cycles == []


def test_the_production_code_runs_without_airflow():
    wrong = [
        f"{mod} imports {name}"
        for mod, path in FILES.items()
        for name, _ in _imports(path)
        if name.split(".")[0] == "airflow"
    ]
    assert wrong == []


def test_the_check_sees_the_imports():  # the rules above would pass vacuously on a parser that saw nothing
    assert ("pipelines.providers.writer.base", True) in _imports(FILES["pipelines.providers.writer.groq"])
    assert len(MODULES) > 50
