"""Provider keys from Airflow Connections: an operator stores a key once in Admin → Connections (or a
secrets backend) and the task process gets it as the environment variable the provider reads. A key
already in the environment wins. Keys never go into configs, XCom or logs."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
CONNECTIONS = {
    "groq_default": "GROQ_API_KEY",
    "websearch_default": "BRAVE_SEARCH_API_KEY",
    "pexels_default": "PEXELS_API_KEY",
    "pixabay_default": "PIXABAY_API_KEY",
    "azure_speech_default": "AZURE_SPEECH_KEY",
}
SLOTS = {  # provider slot (the stage registry's `keys`) -> its connections
    "writer": ("groq_default",),
    "research": ("websearch_default",),
    "tts": ("azure_speech_default",),
    "broll": ("pexels_default", "pixabay_default"),
}
REGIONS = {"azure_speech_default": "AZURE_SPEECH_REGION"}  # that connection's host holds the region


def export_credentials(slots: tuple[str, ...] | None = None) -> list[str]:
    """Set each provider's key variable from its connection's password, if there is one; returns which.
    `slots`: only the connections of these provider slots (default: all)."""
    from airflow.sdk import BaseHook

    wanted = CONNECTIONS if slots is None else {c for s in slots for c in SLOTS[s]}
    found = []
    for conn_id, variable in CONNECTIONS.items():
        if conn_id not in wanted:
            continue
        if os.environ.get(variable):
            continue
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception:  # no such connection: that provider stays off (the stage logs what it uses)
            continue
        if conn.password:
            os.environ[variable] = conn.password
            found.append(conn_id)
        if conn_id in REGIONS and conn.host and not os.environ.get(REGIONS[conn_id]):
            os.environ[REGIONS[conn_id]] = conn.host
    if found:
        log.info("provider credentials from Airflow connections: %s", ", ".join(found))
    return found
