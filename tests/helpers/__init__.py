"""What tests share: fake servers that speak the providers' protocols (tests.helpers.fake_*), free ports,
waiting for something to happen, and editing a channel's YAML as data."""

from __future__ import annotations

import socket
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, fn: Callable[[], T], timeout: float = 300, every: float = 1.0) -> T:
    """Poll fn until it returns something truthy; fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := fn():
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def edit_yaml(path: Path, changes: dict[str, Any], *, existing: bool = False) -> dict:
    """Set fields of a channel's YAML by dotted path ({"llm.provider": "groq"}), through yaml.safe_load,
    and write it back; returns the new data. Every field must be one the channel config has (a KeyError
    names any other, so a renamed field fails here rather than as a test of something else); a section
    the YAML leaves out is added, unless `existing`: then every field changed must already be in the file."""
    from pydantic import BaseModel

    from pipelines.config import ChannelConfig

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        model: type[BaseModel] | None = ChannelConfig
        for part in [*parents, leaf]:
            if model is None or part not in model.model_fields:
                raise KeyError(f"{path.name}: {dotted}: {part!r} is not a channel config field")
            ann = model.model_fields[part].annotation
            models = [
                a for a in (ann, *typing.get_args(ann)) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            model = models[0] if models else None  # a section, or an optional one (`YouTube | None`)
        node = data
        for i, key in enumerate(parents):
            if key not in node and not existing:
                node[key] = {}
            if not isinstance(node.get(key), dict):
                raise KeyError(
                    f"{path.name}: no section {'.'.join(parents[: i + 1])!r} to change {dotted!r} in"
                )
            node = node[key]
        if existing and leaf not in node:
            raise KeyError(f"{path.name}: no field {dotted!r} to change")
        node[leaf] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data
