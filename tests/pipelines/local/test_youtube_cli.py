"""`nicheflow youtube client|connect|status` run as a person runs them: as a subprocess, against the real
Airflow CLI and connection store (metadata in the embedded PostgreSQL), the real google-auth-oauthlib
consent flow and google-api-python-client, with FakeYouTube as Google. The test plays the browser: it reads
the consent URL the command prints and follows the fake's redirect to the command's local server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from pipelines import quota
from pipelines.db import connect, embedded_url
from pipelines.local import youtube_cli
from pipelines.local.cli import main as cli
from pipelines.local.stack import Stack
from pipelines.paths import REPO
from tests.helpers import edit_yaml, free_port
from tests.helpers.fake_youtube import FakeYouTube

CHANNEL, OTHER = "UCcosmosFactByFactAAAAAA", "UCsomeoneElsesChannelBBB"
TITLE, OTHER_TITLE = "Cosmos, Fact by Fact", "Someone Else"
PROJECT = "nf_main"
CLIENT_ID, CLIENT_SECRET = "cid.apps.googleusercontent.com", "csecret-xyz"


@pytest.fixture(scope="module")
def airflow_db(pg_server):
    """Airflow's metadata database in the embedded PostgreSQL, migrated once for the module (the database
    the local stack, and so the commands, use)."""
    env = Stack().env(pg_server)
    airflow = Path(sys.executable).parent / "airflow"
    res = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return embedded_url("airflow")


@pytest.fixture
def no_youtube_connections(airflow_db):
    with psycopg.connect(airflow_db, autocommit=True) as conn:
        conn.execute("DELETE FROM connection WHERE conn_id LIKE 'youtube%'")
    return airflow_db


@pytest.fixture
def fake():
    with FakeYouTube() as f:
        f.add_channel(CHANNEL, TITLE)
        f.add_channel(OTHER, OTHER_TITLE)
        f.consent_channel = CHANNEL
        yield f


@pytest.fixture
def youtube_channel(configs, database, no_youtube_connections):
    """science_en publishes to YouTube through project nf_main (its YAML names no channel id yet)."""
    path = configs / "science_en.yaml"
    edit_yaml(path, {"publish.provider": "youtube", "publish.youtube.project": PROJECT})
    return path


def nicheflow(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.local.cli", *args],
        env=_env(), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    return (
        os.environ
        | extra
        | {
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
            "OAUTHLIB_INSECURE_TRANSPORT": "1",  # the fake's token endpoint is plain http on 127.0.0.1
        }
    )


def store_client(fake: FakeYouTube, tmp_path) -> None:
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps(fake.client_config(CLIENT_ID, CLIENT_SECRET)))
    res = nicheflow("youtube", "client", PROJECT, "--secrets", str(secrets), "--api-root", fake.url)
    assert res.returncode == 0, res.stderr
    assert CLIENT_SECRET not in res.stdout + res.stderr
    assert f"youtube_project_{PROJECT}" in res.stdout


def connect_channel(fake: FakeYouTube, channel: str = "science_en", **env: str) -> tuple[int, str, str]:
    """Run `nicheflow youtube connect` and act as the browser; (exit code, stdout, stderr)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.local.cli", "youtube", "connect", channel, "--port", str(port)],
        env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    err: list[str] = []
    drain = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    out = []
    assert proc.stdout is not None
    for line in proc.stdout:
        out.append(line)
        if m := re.search(r"(http://127\.0\.0\.1:\d+/auth\?\S+)", line):
            answer = httpx.get(m.group(1), follow_redirects=True, trust_env=False, timeout=30)
            assert answer.status_code == 200 and "nicheflow got the consent" in answer.text
            assert str(answer.url).startswith(f"http://localhost:{port}/?")
            break
    out.append(proc.stdout.read())
    proc.wait(timeout=60)
    drain.join(timeout=10)
    return proc.returncode, "".join(out), "".join(err)


def stored(conn_id: str) -> dict | None:
    """The connection's row in Airflow's `connection` table, as stored."""
    with psycopg.connect(embedded_url("airflow"), row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT conn_type, password, is_encrypted, extra, is_extra_encrypted FROM connection"
            " WHERE conn_id = %s",
            (conn_id,),
        ).fetchone()


def test_client_then_connect_store_an_encrypted_token_bound_to_the_chosen_channel(
    fake, youtube_channel, tmp_path
):
    store_client(fake, tmp_path)
    code, out, err = connect_channel(fake, NICHEFLOW_LOG_LEVEL="DEBUG")  # not even debug logs show the token
    assert code == 0, err
    assert "ssh -L" in out and "Open this URL in a browser" in out
    assert f"Connected science_en to YouTube channel {CHANNEL} ({TITLE})" in out
    assert f"channel_id: {CHANNEL}" in out  # the YAML names no channel yet: how to pin it

    # Airflow's own view of the connection: what the channel's tasks will read
    conn = youtube_cli.AirflowConnections().get("youtube_science_en")
    assert conn is not None and conn["conn_type"] == "youtube"
    token = conn["password"]
    assert token.startswith("1//fake-refresh-")
    assert conn["extra"]["channel_id"] == CHANNEL and conn["extra"]["channel_title"] == TITLE
    assert conn["extra"]["project"] == PROJECT
    assert set(conn["extra"]["scopes"]) == set(youtube_cli.SCOPES) and conn["extra"]["connected_at"]
    # encrypted at rest with the stack's Fernet key, and never shown
    raw = stored("youtube_science_en")
    assert raw is not None and raw["is_encrypted"] and raw["is_extra_encrypted"]
    assert token not in raw["password"] and CHANNEL not in raw["extra"]
    assert token not in out + err and "DEBUG" in err
    client = stored("youtube_project_nf_main")
    assert client is not None and client["is_encrypted"] and CLIENT_SECRET not in client["password"]
    # the channels.list that asked for the binding is in the project's quota ledger
    with connect() as db:
        assert quota.spent(db, PROJECT).units == 1


def test_a_consent_for_another_channel_than_the_yaml_names_is_refused_and_nothing_stored(
    fake, youtube_channel, tmp_path
):
    edit_yaml(youtube_channel, {"publish.youtube.channel_id": CHANNEL})
    store_client(fake, tmp_path)
    fake.consent_channel = OTHER  # the person picked the wrong channel on Google's account chooser
    code, out, err = connect_channel(fake)
    assert code == 2
    assert f"chose YouTube channel {OTHER} ({OTHER_TITLE})" in err and f"channel_id {CHANNEL}" in err
    assert "Nothing was stored" in err and "nicheflow youtube connect science_en" in err
    assert stored("youtube_science_en") is None
    assert "1//fake-refresh-" not in out + err


def test_status_shows_each_channel_token_health_quota_and_waiting_items(fake, youtube_channel, tmp_path):
    edit_yaml(youtube_channel, {"publish.youtube.channel_id": CHANNEL, "publish.youtube.playlists": ["PLx"]})
    store_client(fake, tmp_path)
    code, _, err = connect_channel(fake)
    assert code == 0, err
    day = quota.pt_day()
    until = quota.next_reset()
    with connect() as db:
        for method, n in (
            ("videos.insert", 2),
            ("channels.list", 2),
            ("thumbnails.set", 2),
            ("captions.insert", 2),
        ):
            for _ in range(n):
                db.execute(
                    "INSERT INTO youtube_calls (project, pt_day, method, units, upload, ok, for_channel)"
                    " VALUES (%s, %s, %s, %s, %s, true, 'science_en')",
                    (PROJECT, day, method, quota.UNITS[method], method == "videos.insert"),
                )
        db.execute(  # yesterday's and another project's calls do not count
            "INSERT INTO youtube_calls (project, pt_day, method, units, upload, ok, for_channel) VALUES"
            " (%s, %s, 'captions.insert', 400, false, true, 'science_en'),"
            " ('other', %s, 'captions.insert', 400, false, true, 'x')",
            (PROJECT, day - timedelta(days=1), day),
        )
        pid = db.execute(
            "INSERT INTO productions (channel, topic, dag_run_id, workspace) VALUES ('science_en', 'Hubble',"
            " 'r1', '/w') RETURNING id"
        ).fetchone()["id"]
        db.execute(
            "INSERT INTO youtube_uploads (item, channel, production_id, kind, project, size_bytes, privacy,"
            " state, waiting_until, message) VALUES (%s, 'science_en', %s, 'longform', %s, 10, 'private',"
            " 'waiting', %s, 'quotaExceeded')",
            (f"{pid:05d}-longform", pid, PROJECT, until),
        )

    res = nicheflow("youtube", "status")
    assert res.returncode == 0, res.stdout + res.stderr
    line = _line(res.stdout, "science_en")
    assert "provider youtube" in line and f"project {PROJECT}" in line
    assert f"connected to {CHANNEL} ({TITLE})" in line and "token ok" in line
    assert f"1 item waiting for quota until {youtube_cli._local(until)}" in line
    assert "provider outbox" in _line(res.stdout, "historia_ptbr")
    # 2 uploads; 903 units: 2 x (1 + 50 + 400) and the connect's channels.list. A publish of science_en is
    # 1 + 50 + 400 + 50 (its playlist) = 501 units: 9,097 // 501 = 18 more fit today.
    project = _line(res.stdout, f"{PROJECT}:")
    assert "903 of 10,000 units and 2 of 100 uploads used" in project
    assert "18 more long-form publishes fit (1 upload + 501 units each)" in project
    assert "channels: science_en" in project
    assert f"Pacific day {day}" in res.stdout

    edit_yaml(youtube_channel, {"publish.youtube.channel_id": "UCanotherOneCCCCCCCCCCCC"})
    res = nicheflow("youtube", "status")
    assert res.returncode == 1
    assert f"token wrong channel: bound to {CHANNEL}, YAML expects UCanotherOneCCCCCCCCCCCC" in _line(
        res.stdout, "science_en"
    )

    edit_yaml(youtube_channel, {"publish.youtube.channel_id": CHANNEL})
    token = youtube_cli.AirflowConnections().get("youtube_science_en")["password"]  # type: ignore[index]
    fake.revoke(token)
    res = nicheflow("youtube", "status")
    assert res.returncode == 1
    assert "token revoked (invalid_grant): run nicheflow youtube connect science_en" in _line(
        res.stdout, "science_en"
    )
    assert token not in res.stdout + res.stderr

    code, _, err = connect_channel(fake)  # connecting again mends it: the revoked token is replaced
    assert code == 0, err
    again = youtube_cli.AirflowConnections().get("youtube_science_en")
    assert again is not None and again["password"] != token
    client = youtube_cli.OAuthClient(PROJECT, CLIENT_ID, CLIENT_SECRET, token_uri=fake.url + "token")
    assert youtube_cli.token_health(client, again["password"]) == "ok"
    assert youtube_cli.token_health(client, token) == "revoked"


def _line(out: str, start: str) -> str:
    found = [ln for ln in out.splitlines() if ln.strip().startswith(start)]
    assert len(found) == 1, out
    return found[0]


# -- what is refused before anything is stored (in-process: no Airflow, no Google) -------------------------


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "no such file"),
        ("{not json", "not a JSON file"),
        (json.dumps({"web": {"client_id": "a", "client_secret": "b"}}), "'Desktop app' client"),
        (json.dumps({"installed": {"client_id": "a"}}), "installed.client_secret missing"),
        (json.dumps(["x"]), "not an OAuth client file"),
    ],
)
def test_client_refuses_a_missing_or_invalid_secrets_file(tmp_path, capsys, content, says):
    path = tmp_path / "client_secret.json"
    if content is not None:
        path.write_text(content)
    assert cli(["youtube", "client", PROJECT, "--secrets", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_connect_says_what_to_add_when_the_yaml_names_no_project(configs, capsys):
    assert cli(["youtube", "connect", "science_en"]) == 2
    err = capsys.readouterr().err
    assert "science_en.yaml" in err and "youtube:" in err and "project: <project>" in err


def test_connect_without_the_projects_client_says_how_to_store_it(youtube_channel, capsys):
    assert cli(["youtube", "connect", "science_en"]) == 2
    assert (
        f"run `nicheflow youtube client {PROJECT} --secrets client_secret.json` first"
        in capsys.readouterr().err
    )
