"""Where nicheflow keeps things. Every path derives from two roots, both overridable."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Runtime data (database files, workspaces, outboxes, Airflow logs). NICHEFLOW_DATA_DIR overrides."""
    return Path(os.environ.get("NICHEFLOW_DATA_DIR") or REPO / "data").resolve()


def config_dir() -> Path:
    """One YAML per channel. NICHEFLOW_CONFIG_DIR overrides (tests use their own)."""
    return Path(os.environ.get("NICHEFLOW_CONFIG_DIR") or REPO / "niche_configs").resolve()


def channel_dir(channel: str) -> Path:
    return data_dir() / "channels" / channel


def outbox_dir(channel: str) -> Path:
    return channel_dir(channel) / "outbox"
