"""`nicheflow youtube ...`: connect a channel to YouTube, and show every channel's YouTube state.

  nicheflow youtube client PROJECT --secrets client_secret.json [--api-root URL]
      store a Google Cloud project's OAuth client (a "Desktop app" client's downloaded JSON) as the Airflow
      connection youtube_project_<PROJECT>
  nicheflow youtube connect CHANNEL [--port 8765]
      the consent flow for one channel (Google's loopback flow on localhost:PORT; over SSH forward the
      port); the token is checked against publish.youtube.channel_id and stored as youtube_<CHANNEL>
  nicheflow youtube status
      one line per channel (provider, project, bound YouTube channel, token health, items waiting for
      quota), then today's quota per project

Secrets go to Airflow's connection store only, encrypted with the stack's Fernet key. This module does not
import Airflow (the production code never does): it runs Airflow's own CLI as a subprocess with the local
stack's environment, and hands it secrets in a 0600 file inside a private temporary folder, deleted at
once, never on a command line (visible in `ps`), in a log or in what it prints."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines import clock, quota
from pipelines.config import CHANNEL_ID, ChannelConfig, ConfigError, get_config, load_all
from pipelines.db import connect, database_url
from pipelines.errors import PermanentError
from pipelines.local.tables import table
from pipelines.paths import config_dir
from pipelines.providers.http import ProviderError
from pipelines.providers.publish.youtube import (
    GOOGLE_AUTH_URI,
    GOOGLE_TOKEN_URI,
    SCOPES,
    ChannelToken,
    OAuthClient,
    YouTubeAPI,
    channel_conn_id,
    google_credentials,
    project_conn_id,
)

DEFAULT_PORT = 8765
CONSENT_TIMEOUT = 900  # seconds `connect` waits for the browser to come back
# Loggers that would print URLs with codes, request bodies or tokens at DEBUG (NICHEFLOW_LOG_LEVEL=DEBUG), or
# repeat the consent prompt at INFO: kept at WARNING whatever the level.
QUIET_LOGGERS = ("google_auth_oauthlib", "requests_oauthlib", "oauthlib", "google.auth", "googleapiclient")


class YouTubeCliError(PermanentError):
    """What went wrong, and what to do about it, for the person at the terminal."""


# -- Airflow's connection store, through Airflow's CLI ---------------------------------------------------


def _json_dict(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


class AirflowConnections:
    """Airflow's connection store, read and written through `airflow connections` run as a subprocess with
    the environment of the local stack (its metadata database and Fernet key), so what is stored here is
    what `nicheflow run`'s tasks read."""

    def __init__(self, env: dict[str, str] | None = None):
        from pipelines.local.stack import Stack

        self.env = env if env is not None else Stack().env(database_url())
        binary = Path(sys.executable).parent / "airflow"
        self.airflow = str(binary) if binary.exists() else (shutil.which("airflow") or "airflow")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self.airflow, *args],
                env=self.env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=180,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise YouTubeCliError(f"could not run `airflow {args[0]} {args[1]}`: {e}") from None

    def _failed(self, what: str, res: subprocess.CompletedProcess[str], secrets: Iterable[str] = ()) -> str:
        lines = [ln for ln in (res.stderr or res.stdout or "").strip().splitlines() if ln.strip()]
        last = _scrub(lines[-1], secrets) if lines else f"exit code {res.returncode}"
        return (
            f"Airflow's connection store: {what} failed: {last}\n"
            "Is the database running and Airflow's metadata migrated? `make run` (or `nicheflow run`) does "
            "both; `nicheflow db` starts the embedded PostgreSQL."
        )

    def get(self, conn_id: str) -> dict[str, Any] | None:
        """Connection `conn_id` (conn_type, login, password, extra as a dict), or None when there is none."""
        res = self._run("connections", "get", conn_id, "-o", "json")
        if res.returncode != 0:
            if "Connection not found" in res.stderr + res.stdout:
                return None
            raise YouTubeCliError(self._failed(f"reading {conn_id}", res))
        try:
            found = json.loads(res.stdout)[0]
        except (ValueError, IndexError, KeyError):
            raise YouTubeCliError(
                f"`airflow connections get {conn_id}` printed something else than JSON"
            ) from None
        return {k: found.get(k) for k in ("conn_type", "login", "password")} | {
            "extra": _json_dict(found.get("extra_dejson"))
        }

    def youtube(self) -> dict[str, dict[str, Any]]:
        """Every youtube_* connection in the store, read by one `airflow connections export` (one Airflow
        start-up however many channels there are; the other connections are dropped at once)."""
        res = self._run("connections", "export", "-", "--file-format", "json")
        if res.returncode != 0:
            raise YouTubeCliError(self._failed("reading the connections", res))
        try:
            found = json.loads(res.stdout)
            assert isinstance(found, dict)
        except (ValueError, AssertionError):
            raise YouTubeCliError("`airflow connections export` printed something else than JSON") from None
        out = {}
        for conn_id, c in found.items():
            if conn_id.startswith("youtube_"):
                extra = _json_dict(c.get("extra"))
                out[conn_id] = {k: c.get(k) for k in ("conn_type", "login", "password")} | {"extra": extra}
        return out

    def put(self, conn_id: str, conn: dict[str, Any]) -> None:
        """Create or replace connection `conn_id` (conn_type, login, password, extra: a dict)."""
        fields = {k: v for k, v in conn.items() if v is not None}
        fields["extra"] = json.dumps(conn.get("extra") or {})
        private = tempfile.mkdtemp(prefix="nicheflow-conn-")  # 0700: only this user can list or open it
        try:
            path = os.path.join(private, "connection.json")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({conn_id: fields}, f)
            res = self._run("connections", "import", "--overwrite", path)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        if res.returncode != 0 or f"Imported connection {conn_id}" not in res.stdout:
            raise YouTubeCliError(self._failed(f"storing {conn_id}", res, [str(conn.get("password") or "")]))


# -- nicheflow youtube client ------------------------------------------------------------------------------


def read_client_secrets(path: Path) -> dict[str, str]:
    """client_id, client_secret, auth_uri and token_uri of a downloaded "Desktop app" OAuth client file."""
    where = "Google Cloud console > APIs & Services > Credentials > Create credentials > OAuth client ID"
    if not path.is_file():
        raise YouTubeCliError(f"{path}: no such file. Download the client's JSON from {where} > Desktop app.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise YouTubeCliError(
            f"{path}: not a JSON file ({e}); use the file Google lets you download"
        ) from None
    if isinstance(data, dict) and "web" in data and "installed" not in data:
        raise YouTubeCliError(
            f"{path} is a 'Web application' client. nicheflow's consent flow needs a 'Desktop app' client "
            f"(its redirect to localhost is allowed without registering it): create one at {where}."
        )
    client = data.get("installed") if isinstance(data, dict) else None
    if not isinstance(client, dict):
        raise YouTubeCliError(
            f'{path}: not an OAuth client file: expected {{"installed": {{"client_id": ..., '
            f'"client_secret": ...}}}}, as downloaded from {where} > Desktop app'
        )
    missing = [k for k in ("client_id", "client_secret") if not client.get(k)]
    if missing:
        raise YouTubeCliError(f"{path}: installed.{' and installed.'.join(missing)} missing")
    return {
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "auth_uri": client.get("auth_uri") or GOOGLE_AUTH_URI,
        "token_uri": client.get("token_uri") or GOOGLE_TOKEN_URI,
    }


def cmd_client(args: argparse.Namespace) -> int:
    """Store the project's OAuth client as connection youtube_project_<project>."""
    if not CHANNEL_ID.match(args.project):  # the pattern of channel ids and publish.youtube.project
        raise YouTubeCliError(
            f"project {args.project!r}: a lowercase letter, then 1-40 lowercase letters, digits or _ "
            "(the name channels give as publish.youtube.project)"
        )
    client = read_client_secrets(Path(args.secrets))
    extra = {"token_uri": client["token_uri"], "auth_uri": client["auth_uri"]}
    if args.api_root:
        extra["api_root"] = args.api_root.rstrip("/") + "/"
    conn_id = project_conn_id(args.project)
    AirflowConnections().put(
        conn_id,
        {
            "conn_type": "youtube",
            "description": f"OAuth client of Google Cloud project {args.project} (nicheflow youtube client)",
            "login": client["client_id"],
            "password": client["client_secret"],
            "extra": extra,
        },
    )
    users = [
        c.channel
        for c in load_all().configs.values()
        if c.publish.youtube and c.publish.youtube.project == args.project
    ]
    print(f"Stored the OAuth client {client['client_id']} of project {args.project} as connection {conn_id}.")
    if args.api_root:
        print(f"  YouTube API root: {extra['api_root']}")
    print(f"  The secret is in Airflow's connection store (encrypted); you may delete {args.secrets} now.")
    print(
        "  Channels using it: " + ", ".join(users)
        if users
        else f"  No channel names it yet: set publish.youtube.project: {args.project} in a channel's YAML."
    )
    print("  Next: nicheflow youtube connect <channel>")
    return 0


# -- nicheflow youtube connect -----------------------------------------------------------------------------


def _yaml_path(channel: str) -> Path:
    found = [p for p in (config_dir() / f"{channel}.yaml", config_dir() / f"{channel}.yml") if p.exists()]
    return found[0] if found else config_dir() / f"{channel}.yaml"


def _client_for(project: str, conn: dict[str, Any] | None) -> OAuthClient:
    if conn is None:
        raise YouTubeCliError(
            f"no OAuth client stored for project {project}: run `nicheflow youtube client {project} --secrets "
            "client_secret.json` first (a Desktop app client of that Google Cloud project)"
        )
    try:
        return OAuthClient.from_connection(project, conn)
    except ProviderError as e:
        raise YouTubeCliError(f"{e}; store it again with `nicheflow youtube client {project} ...`") from None


def _prompt(channel: str, port: int) -> str:
    return (
        f"\nOpen this URL in a browser, sign in and choose the YouTube channel for {channel} (a Brand\n"
        "Account's channel is listed after the Google account that manages it):\n\n    {url}\n\n"
        f"Google then sends the browser to http://localhost:{port}/ on the machine running this command.\n"
        "On a server without a browser, forward that port from the computer with the browser, open the URL\n"
        "there, and leave this command running:\n\n"
        f"    ssh -L {port}:localhost:{port} <this server>\n\n"
        "(Google's copy-and-paste and device-code flows do not work for YouTube upload scopes.)\n"
        f"Waiting up to {CONSENT_TIMEOUT // 60} minutes for the consent..."
    )


def consent(client: OAuthClient, channel: str, port: int) -> Any:
    """Google's loopback consent flow: prints the URL, waits for the browser's redirect to localhost:port,
    and returns the credentials (with the refresh token when Google gave one)."""
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error  # type: ignore[import-untyped]

    flow = InstalledAppFlow.from_client_config(client.installed_config(), scopes=list(SCOPES))
    try:
        return flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=False,
            prompt="select_account consent",
            access_type="offline",
            authorization_prompt_message=_prompt(channel, port),
            success_message=f"nicheflow got the consent for {channel}. You can close this tab.",
            timeout_seconds=CONSENT_TIMEOUT,
        )
    except OSError as e:
        raise YouTubeCliError(
            f"cannot listen on localhost:{port} ({e.strerror or e}): pick a free port with --port"
        ) from None
    except WSGITimeoutError:
        raise YouTubeCliError(
            f"no answer from the browser within {CONSENT_TIMEOUT // 60} minutes; nothing was stored"
        ) from None
    except InsecureTransportError:
        raise YouTubeCliError(
            f"the client's token endpoint {client.token_uri} is plain http; oauthlib refuses it unless "
            "OAUTHLIB_INSECURE_TRANSPORT=1 (only ever for a local test server)"
        ) from None
    except OAuth2Error as e:
        raise YouTubeCliError(
            f"Google refused the consent: {e.error}: {e.description or ''}; nothing was stored"
        ) from None
    except Warning as e:  # oauthlib raises it when fewer scopes were granted than asked for
        raise YouTubeCliError(
            f"Google granted only part of the access nicheflow needs ({e}). Run the command again and leave "
            "every permission ticked on the consent screen; nothing was stored."
        ) from None


def _granted(creds: Any) -> list[str]:
    scopes = creds.granted_scopes or creds.scopes or SCOPES
    return sorted(scopes.split() if isinstance(scopes, str) else scopes)


def cmd_connect(args: argparse.Namespace) -> int:
    """Consent for one channel, check which YouTube channel it chose, store the token."""
    cfg = get_config(args.channel)
    yt = cfg.publish.youtube
    if yt is None:
        raise YouTubeCliError(
            f"{_yaml_path(cfg.channel)} does not say which Google Cloud project's OAuth client the channel uses."
            " Add:\n  publish:\n    provider: youtube\n    youtube:\n      project: <project>   # as given to "
            "`nicheflow youtube client <project> --secrets client_secret.json`"
        )
    store = AirflowConnections()
    client = _client_for(yt.project, store.get(project_conn_id(yt.project)))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # the URL must show at once, also through a pipe or tee
    creds = consent(client, cfg.channel, args.port)
    if not creds.refresh_token:
        raise YouTubeCliError(
            "Google answered without a refresh token (the consent did not grant offline access), so nicheflow "
            "could not publish later. Nothing was stored. Remove nicheflow's access at "
            "https://myaccount.google.com/permissions, then run the command again."
        )
    api = YouTubeAPI(client, ChannelToken(creds.refresh_token), quota.Ledger(yt.project, cfg.channel),
                     channel=cfg.channel, attempts=2)  # fmt: skip
    try:
        found, title = api.bound_channel()
    except ProviderError as e:
        raise YouTubeCliError(
            f"asking YouTube which channel the consent chose failed: {e}. Nothing was stored."
        ) from None
    if yt.channel_id and found != yt.channel_id:
        raise YouTubeCliError(
            f"The consent chose YouTube channel {found} ({title}), but {_yaml_path(cfg.channel)} expects "
            f"publish.youtube.channel_id {yt.channel_id}. Nothing was stored. Run `nicheflow youtube connect "
            f"{cfg.channel}` again and pick channel {yt.channel_id} on Google's account chooser (a Brand "
            "Account's channel is listed under the Google account that manages it), or change channel_id."
        )
    conn_id = channel_conn_id(cfg.channel)
    store.put(
        conn_id,
        {
            "conn_type": "youtube",
            "description": f"YouTube token of nicheflow channel {cfg.channel} (nicheflow youtube connect)",
            "password": creds.refresh_token,
            "extra": {
                "channel_id": found,
                "channel_title": title,
                "project": yt.project,
                "scopes": _granted(creds),
                "connected_at": clock.now().isoformat(timespec="seconds"),
            },
        },
    )
    print(
        f"\nConnected {cfg.channel} to YouTube channel {found} ({title}); the token is stored as {conn_id}."
    )
    if not yt.channel_id:
        print(
            f"To make sure it never publishes elsewhere, pin it in {_yaml_path(cfg.channel)}:\n"
            f"  publish:\n    youtube:\n      channel_id: {found}"
        )
    if cfg.publish.provider != "youtube":
        print(f"publish.provider is {cfg.publish.provider}: set it to youtube to publish there.")
    return 0


# -- nicheflow youtube status ------------------------------------------------------------------------------


@dataclass
class ChannelState:
    """What `status` says about one channel; `problem` is set when a youtube channel could not publish."""

    cfg: ChannelConfig
    token_conn: dict[str, Any] | None
    health: str = "-"
    problem: bool = False


def token_health(client: OAuthClient, refresh_token: str) -> str:
    """Refresh the token at the client's token endpoint: "ok", "revoked" (invalid_grant) or the error."""
    import httplib2
    from google.auth.exceptions import GoogleAuthError, RefreshError
    from google_auth_httplib2 import Request

    creds = google_credentials(client, refresh_token)
    try:
        creds.refresh(Request(httplib2.Http(timeout=20)))
    except RefreshError as e:
        detail = str(e.args[0]) if e.args else str(e)
        return "revoked" if "invalid_grant" in detail else f"cannot check: {_scrub(detail, [refresh_token])}"
    except (GoogleAuthError, OSError, httplib2.HttpLib2Error) as e:
        return f"cannot check: {type(e).__name__}: {_scrub(str(e), [refresh_token])}"
    return "ok"


def _health(state: ChannelState, clients: dict[str, OAuthClient | str]) -> None:
    cfg, conn = state.cfg, state.token_conn
    yt, ch = cfg.publish.youtube, cfg.channel
    if yt is None:
        return
    state.problem = True
    if conn is None or not conn.get("password"):
        state.health = f"none: run nicheflow youtube connect {ch}"
        return
    extra = conn.get("extra") or {}
    client = clients[yt.project]
    if isinstance(client, str):
        state.health = f"cannot check: {client}"
        return
    if extra.get("project") and extra["project"] != yt.project:
        state.health = (
            f"connected through project {extra['project']}'s client, YAML says {yt.project}: "
            f"run nicheflow youtube connect {ch}"
        )
        return
    result = token_health(client, conn["password"])
    if result == "revoked":
        state.health = f"revoked (invalid_grant): run nicheflow youtube connect {ch}"
    elif result != "ok":
        state.health = result
    elif yt.channel_id and extra.get("channel_id") != yt.channel_id:
        state.health = (
            f"wrong channel: bound to {extra.get('channel_id') or '?'}, YAML expects {yt.channel_id}"
        )
    else:
        state.health, state.problem = "ok", False


def _clients(
    conns: dict[str, dict[str, Any] | None], projects: Iterable[str]
) -> dict[str, OAuthClient | str]:
    """Each project's OAuth client, or why there is none."""
    out: dict[str, OAuthClient | str] = {}
    for project in projects:
        conn = conns.get(project_conn_id(project))
        if conn is None:
            out[project] = (
                f"no OAuth client for project {project}: run nicheflow youtube client {project} --secrets ..."
            )
            continue
        try:
            out[project] = OAuthClient.from_connection(project, conn)
        except ProviderError as e:
            out[project] = e.message
    return out


def _local(t: datetime) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _waiting(conn: Any) -> dict[str, str]:
    rows = conn.execute(
        "SELECT channel, count(*) AS n, max(waiting_until) AS until FROM nicheflow.youtube_uploads"
        " WHERE state = 'waiting' GROUP BY channel"
    ).fetchall()
    return {
        r["channel"]: f"{r['n']} item{'s' if r['n'] != 1 else ''} waiting for quota"
        + (f" until {_local(r['until'])}" if r["until"] else "")
        for r in rows
    }


def publish_units(cfg: ChannelConfig) -> int:
    """Shared-bucket units one long-form publish of the channel spends (besides its one upload)."""
    yt = cfg.publish.youtube
    calls = ["channels.list", "videos.insert", "thumbnails.set"]
    calls += ["captions.insert"] if yt is None or yt.captions else []
    calls += ["playlistItems.insert"] * (len(yt.playlists) if yt else 0)
    return sum(quota.UNITS[c] for c in calls)


def _channel_cells(state: ChannelState, waiting: dict[str, str]) -> list[str]:
    cfg, conn = state.cfg, state.token_conn
    yt = cfg.publish.youtube
    extra = (conn or {}).get("extra") or {}
    if conn is not None and conn.get("password"):
        bound = f"connected to {extra.get('channel_id') or '?'} ({extra.get('channel_title') or '?'})"
    else:
        bound = "not connected"
    return [
        cfg.channel,
        f"provider {cfg.publish.provider}",
        f"project {yt.project if yt else '-'}",
        bound,
        f"token {state.health}",
        waiting.get(cfg.channel, "nothing waiting"),
    ]


def _project_lines(channels: list[ChannelConfig], conn: Any) -> list[str]:
    by_project: dict[str, list[ChannelConfig]] = {}
    for cfg in channels:
        if cfg.publish.youtube:
            by_project.setdefault(cfg.publish.youtube.project, []).append(cfg)
    if not by_project:
        return []
    day, reset = quota.pt_day(), quota.next_reset()
    out = [f"\nQuota today (Pacific day {day}; it resets {_local(reset)}):"]
    for project, cfgs in sorted(by_project.items()):
        spent = quota.spent(conn, project, day)
        costs = {c.channel: publish_units(c) for c in cfgs}
        fits = {ch: spent.publishes_left(units) for ch, units in costs.items()}
        if len(set(costs.values())) == 1:
            units = next(iter(costs.values()))
            left = f"{next(iter(fits.values()))} more long-form publishes fit (1 upload + {units} units each)"
        else:
            left = "long-form publishes that still fit: " + ", ".join(
                f"{ch} {fits[ch]} ({costs[ch]} units each)" for ch in sorted(costs)
            )
        out.append(
            f"  {project}: {spent.units:,} of {quota.DAILY_UNITS:,} units and {spent.uploads} of "
            f"{quota.DAILY_UPLOADS} uploads used; {left}; channels: {', '.join(sorted(costs))}"
        )
    return out


def cmd_status(args: argparse.Namespace) -> int:
    """Every channel's YouTube state, then each project's quota today. Exit 1 when a channel that publishes
    to YouTube could not (not connected, revoked, wrong channel, cannot check)."""
    loaded = load_all()
    channels = list(loaded.configs.values())
    projects = sorted({c.publish.youtube.project for c in channels if c.publish.youtube})
    conns: dict[str, dict[str, Any] | None] = dict(AirflowConnections().youtube())
    clients = _clients(conns, projects)
    states = [ChannelState(c, conns.get(channel_conn_id(c.channel))) for c in channels]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda s: _health(s, clients), states))
    with connect() as conn:  # the ledger is read across channels: a connection not entered into one
        waiting = _waiting(conn)
        for line in table([_channel_cells(s, waiting) for s in states]):
            print(line)
        for name, msg in sorted(loaded.errors.items()):
            print(f"{name}: invalid config, not shown (nicheflow validate): {msg.splitlines()[0]}")
        for line in _project_lines(channels, conn):
            print(line)
    problems = [s for s in states if s.problem and s.cfg.publish.provider == "youtube"]
    return 1 if problems or loaded.errors else 0


# -- registration ------------------------------------------------------------------------------------------


def _guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except (YouTubeCliError, ConfigError) as e:
            print(f"nicheflow: {e}", file=sys.stderr)
            return 2

    return run


def register(sub: Any) -> None:
    """Add `youtube client|connect|status` to the `nicheflow` argument parser's subcommands."""
    yt = sub.add_parser("youtube", help="connect channels to YouTube; every channel's YouTube state")
    cmds = yt.add_subparsers(dest="youtube_cmd", required=True)
    p = cmds.add_parser("client", help="store a Google Cloud project's OAuth client (Desktop app JSON)")
    p.add_argument("project", help="the name channels give as publish.youtube.project")
    p.add_argument("--secrets", required=True, help="the client's JSON as downloaded from the Cloud console")
    p.add_argument(
        "--api-root", help="a YouTube-compatible API endpoint instead of Google's (tests use a local one)"
    )
    p.set_defaults(func=_guarded(cmd_client))
    p = cmds.add_parser("connect", help="consent for a channel and store its token")
    p.add_argument("channel")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="local port Google redirects the browser to"
    )
    p.set_defaults(func=_guarded(cmd_connect))
    p = cmds.add_parser("status", help="every channel's YouTube state and each project's quota today")
    p.set_defaults(func=_guarded(cmd_status))
