"""Provider keys from Airflow Connections: an operator stores a key once in Admin → Connections (or a
secrets backend) and the task process gets it as the environment variable the provider reads. A key
already in the environment wins. Keys never go into configs, XCom or logs."""

from __future__ import annotations

import json
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
    "publish": (),  # per channel: see export_publish_connections
}
REGIONS = {"azure_speech_default": "AZURE_SPEECH_REGION"}  # that connection's host holds the region


def export_publish_connections(channel: str) -> list[str]:
    """A channel that publishes to YouTube: its token's connection (youtube_<channel>) and its project's
    OAuth client (youtube_project_<project>), in the environment form the provider reads
    (AIRFLOW_CONN_<ID>, JSON). Those already in the environment win; a missing one is left out (the stage
    then says how to connect the channel)."""
    from airflow.sdk import BaseHook

    from pipelines.config import get_config
    from pipelines.providers.publish import youtube

    publish = get_config(channel).publish
    if publish.provider != "youtube" or publish.youtube is None:
        return []
    found = []
    for conn_id in (youtube.channel_conn_id(channel), youtube.project_conn_id(publish.youtube.project)):
        variable = youtube.conn_env(conn_id)
        if os.environ.get(variable):
            continue
        try:
            conn = BaseHook.get_connection(conn_id)  # its password is masked in logs from here on
        except Exception:
            continue
        os.environ[variable] = json.dumps(
            {
                "conn_type": conn.conn_type,
                "login": conn.login,
                "password": conn.password,
                "extra": conn.extra_dejson,
            }
        )
        found.append(conn_id)
    return found


def export_storage_connection() -> str | None:
    """When NICHEFLOW_STORAGE_URL is a bucket (s3://<connection id>@bucket/prefix), put its connection in
    the environment form pipelines.storage reads (AIRFLOW_CONN_<ID>, JSON), from Airflow's connections or
    secrets backend; one already in the environment wins. Works in a task and in the api-server (the
    Review page's media). Returns the connection id exported, None when there was nothing to do."""
    from pipelines.storage import ENV, conn_id_of, connection_env

    conn_id = conn_id_of(os.environ.get(ENV))
    if not conn_id or os.environ.get(connection_env(conn_id)):
        return None
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)  # its password is masked in logs from here on
    except Exception:  # no such connection: pipelines.storage says what to set
        return None
    os.environ[connection_env(conn_id)] = json.dumps(
        {
            "conn_type": conn.conn_type,
            "login": conn.login,
            "password": conn.password,
            "host": conn.host,
            "extra": conn.extra_dejson,
        }
    )
    log.info("production storage: connection %s from Airflow", conn_id)
    return conn_id


def export_credentials(slots: tuple[str, ...] | None = None, channel: str | None = None) -> list[str]:
    """Set each provider's key variable from its connection's password, if there is one; returns which.
    `slots`: only the connections of these provider slots (default: all); the publish slot's connections
    are `channel`'s."""
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
    if channel and (slots is None or "publish" in slots):
        found += export_publish_connections(channel)
    if found:
        log.info("provider credentials from Airflow connections: %s", ", ".join(found))
    return found
