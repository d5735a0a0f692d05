"""Reading a channel YAML file before it is validated (pipelines.config): text that is UTF-8 and of a
sensible size, each key given once, and no alias bomb. Errors name the file and say what to fix."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipelines.errors import PermanentError

MAX_FILE_BYTES = 1_000_000  # a channel YAML is a few KB; anything near this is not one
MAX_VALUES = (
    100_000  # values a YAML may expand to through anchors and aliases (a "billion laughs" is refused)
)


class ConfigError(PermanentError, ValueError):
    """A channel YAML that cannot be used; the message names the file and the fields to fix."""


class _Loader(yaml.SafeLoader):
    """yaml.safe_load that refuses a key given twice in one mapping (safe_load keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}: give each field once", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _values(node: yaml.Node, counted: dict[int, int]) -> int:
    """How many values `node` stands for with every alias expanded (each node counted once, as aliases
    share nodes: a bomb's size is found without building it)."""
    if id(node) not in counted:
        counted[id(node)] = 1  # a node inside itself (a recursive alias) counts once
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        counted[id(node)] = 1 + sum(_values(child, counted) for child in children)
    return counted[id(node)]


def read_yaml(path: Path) -> object:
    """The YAML document in `path` (None when it holds none); ConfigError saying what is wrong otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}: {size:,} bytes; a channel config is a few KB (at most {MAX_FILE_BYTES:,} bytes "
                "are read): is this the right file?"
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at position {e.start}): save it as UTF-8"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read: {e.strerror or e}") from None
    if not text.strip():
        raise ConfigError(
            f"{path}: the file is empty; a channel config needs at least channel, title, "
            "language and sources_dir"
        )
    loader = _Loader(text)
    loader.name = path.name  # YAML errors point at "<file>, line N"
    try:
        node = loader.get_single_node()
        if node is not None and (n := _values(node, {})) > MAX_VALUES:
            raise ConfigError(
                f"{path}: expands to {n:,} values through anchors and aliases (at most {MAX_VALUES:,}); "
                "write the values out instead of repeating aliases"
            )
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a channel config") from None
    finally:
        loader.dispose()
