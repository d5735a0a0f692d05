"""End to end on the real Airflow stack: no secret is ever written where it could be read back. Every key the
project takes is set to a unique, recognisable value: the provider keys (Groq, Azure Speech, Pexels, Pixabay,
Brave Search), the metrics scrape token, the YouTube OAuth client secret and the channel's refresh token
(Airflow connections), an SMTP password and a webhook URL carrying a token (alert connections). One
production of science_en then goes through every stage with each provider really used against its local fake
(the real SDKs and clients talk to them), is published to the fake YouTube with its Short, the alerts are
mailed and posted, and /review/metrics is scraped with the token.

Afterwards none of those values may appear in any log (Airflow's task logs, the components' logs, the CLI's
data/logs/cli.jsonl), in any file of the data folder (workspaces, outbox, caches), nor in any text column of
the database (the project's tables and Airflow's own)."""

from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path

import httpx
import pytest

from pipelines import checkpoints
from pipelines.db import connect
from pipelines.local.cli import main as cli
from pipelines.local.demo import production_of, wait_run
from pipelines.paths import data_dir
from tests.helpers import wait_for
from tests.helpers.alert_receivers import smtp_server, webhook_receiver
from tests.helpers.fake_azure_speech import FakeAzureSpeech
from tests.helpers.fake_groq import FakeGroq, Reply
from tests.helpers.fake_research_servers import FakeBraveSearch
from tests.helpers.fake_stock_servers import FakePexels, FakePixabay, make_media
from tests.helpers.fake_youtube import FakeYouTube, store_connections

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ENV_SECRETS = {
    "GROQ_API_KEY": "gsk_LEAKCHECK_groq_5f1e2d3c4b",
    "AZURE_SPEECH_KEY": "LEAKCHECK-azure-8a7b6c5d4e",
    "PEXELS_API_KEY": "LEAKCHECK-pexels-1a2b3c4d5e",
    "PIXABAY_API_KEY": "LEAKCHECK-pixabay-9e8d7c6b5a",
    "BRAVE_SEARCH_API_KEY": "LEAKCHECK-brave-0f9e8d7c6b",
    "NICHEFLOW_METRICS_TOKEN": "LEAKCHECK-metrics-6b5a4f3e2d",
}
REFRESH_TOKEN = "1//LEAKCHECK-refresh-7d6c5b4a39"
CLIENT_SECRET = "LEAKCHECK-clientsecret-3e2d1c0b9a"
SMTP_PASSWORD = "LEAKCHECK-smtp-2c1b0a9f8e"
WEBHOOK_TOKEN = "LEAKCHECK-hook-5e4d3c2b1a"
SECRETS = [*ENV_SECRETS.values(), REFRESH_TOKEN, CLIENT_SECRET, SMTP_PASSWORD, WEBHOOK_TOKEN]
YT_CHANNEL = "UCleakcheck0000000000001"
TOPIC = "The Hubble Space Telescope"
RUN_TIMEOUT = 1200


class WritingGroq(FakeGroq):
    """The fake Groq answering like a model would: a script that quotes the prompt's facts (citing their ids)
    at the asked length, and a Short's hook line taken from its sentence."""

    def __post_init__(self) -> None:
        super().__post_init__()
        fake = self

        class Answers(deque):
            def __bool__(self) -> bool:
                return True

            def popleft(self) -> Reply:  # called for each request, after it was recorded
                answer = fake.answer(fake.requests[-1].messages)
                return 200, {}, fake.completion(answer, prompt_tokens=1200, completion_tokens=400)

        self.replies = Answers()

    @staticmethod
    def answer(messages: list[dict]) -> str:
        system, user = messages[0]["content"], messages[1]["content"]
        if '{"hook"' in system:
            return json.dumps({"hook": " ".join(user.split()[:6])})
        lo, hi = (int(n) for n in re.search(r"between (\d+) and (\d+) words", user).groups())
        facts = re.findall(r"^\[(\d+)\] (.+?) \(source: ", user, re.M)
        sentences, n = [], 8  # the hook's words
        for fid, claim in facts:
            if n + len(claim.split()) <= hi:
                sentences.append({"text": claim, "fact_ids": [int(fid)]})
                n += len(claim.split())
        while n < lo or len(sentences) < 2:
            sentences.append({"text": "Indeed.", "fact_ids": []})
            n += 1
        half = len(sentences) // 2
        return json.dumps(
            {
                "title": TOPIC,
                "hook": "Here is the story, told fact by fact.",
                "segments": [
                    {
                        "heading": "Part one",
                        "visual_cue": "the telescope in orbit",
                        "sentences": sentences[:half],
                    },
                    {"heading": "Part two", "visual_cue": "deep space", "sentences": sentences[half:]},
                ],
                "description": f"About {TOPIC}.",
                "tags": ["space"],
                "chapters": [{"segment": 0, "title": "Part one"}, {"segment": 1, "title": "Part two"}],
            }
        )


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    """Every service's fake, with the secret values in the environment every stack process inherits."""
    mp = pytest.MonkeyPatch()
    media = make_media(tmp_path_factory.mktemp("stock"))
    azure = FakeAzureSpeech(key=ENV_SECRETS["AZURE_SPEECH_KEY"])
    try:
        with (
            WritingGroq() as groq,
            FakeBraveSearch(valid_key=ENV_SECRETS["BRAVE_SEARCH_API_KEY"]) as brave,
            FakePexels(media, valid_key=ENV_SECRETS["PEXELS_API_KEY"]) as pexels,
            FakePixabay(media, valid_key=ENV_SECRETS["PIXABAY_API_KEY"]) as pixabay,
            FakeYouTube() as youtube,
            smtp_server(password=SMTP_PASSWORD) as smtp,
            webhook_receiver(token=WEBHOOK_TOKEN) as hook,
        ):
            for name, value in ENV_SECRETS.items():
                mp.setenv(name, value)
            mp.setenv("GROQ_BASE_URL", groq.url)
            mp.setenv("BRAVE_SEARCH_BASE_URL", brave.url)
            mp.setenv("PEXELS_BASE_URL", pexels.url)
            mp.setenv("PIXABAY_BASE_URL", pixabay.url)
            mp.setenv("AZURE_SPEECH_ENDPOINT", azure.endpoint)
            mp.delenv("AZURE_SPEECH_REGION", raising=False)
            mp.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.conn_json())
            mp.setenv("AIRFLOW_CONN_ALERT_HOOK", hook.conn_json())
            mp.setenv("NICHEFLOW_ALERT_EMAIL", "ops@example.org")
            mp.setenv("NICHEFLOW_ALERT_WEBHOOK_CONN", "alert_hook")
            mp.setenv("NICHEFLOW_ALERT_SUMMARY_TIME", "00:00")  # today's summary is due at once
            youtube.add_channel(YT_CHANNEL, "Leak check", refresh_token=REFRESH_TOKEN)
            yield {
                "groq": groq,
                "brave": brave,
                "pexels": pexels,
                "pixabay": pixabay,
                "azure": azure,
                "youtube": youtube,
                "smtp": smtp,
                "hook": hook,
            }
    finally:
        mp.undo()
        azure.close()


@pytest.fixture(scope="module")
def stack_channel_edits(fakes) -> dict[str, dict]:
    return {
        "science_en": {
            "llm.provider": "groq",
            "voice.provider": "azure",
            "voice.name": "en-US-JennyNeural",
            "research.providers": ["local", "websearch"],
            "broll.providers": ["pexels", "pixabay"],
            "publish.provider": "youtube",
            "publish.youtube.project": "leak",
            "publish.youtube.channel_id": YT_CHANNEL,
            "publish.youtube.notify_subscribers": False,
        }
    }


@pytest.fixture(scope="module")
def stack(airflow_stack, fakes):
    conn_ids = store_connections(
        airflow_stack.client,
        fakes["youtube"],
        project="leak",
        channel="science_en",
        channel_id=YT_CHANNEL,
        channel_title="Leak check",
        refresh_token=REFRESH_TOKEN,
        client_secret=CLIENT_SECRET,
    )
    yield airflow_stack
    for conn_id in conn_ids:  # Airflow's database outlives the module
        airflow_stack.client.http.delete(f"/connections/{conn_id}")


def found_in_files(roots: list[Path], secrets: list[str] = SECRETS) -> list[str]:
    """Every (file, secret) where a secret's bytes occur in a file under `roots` (the database's own files
    excepted: its tables are searched through SQL)."""
    hits = []
    needles = [s.encode() for s in secrets]
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink() or "postgres" in path.relative_to(root).parts[:1]:
                continue
            data = path.read_bytes()
            hits += [f"{path}: {n.decode()}" for n in needles if n in data]
    return hits


def found_in_tables(secrets: list[str] = SECRETS) -> list[str]:
    """Every (schema.table.column, secret) where a text-like column of any table holds a secret."""
    hits = []
    with connect() as conn:
        columns = conn.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
                WHERE data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY', 'bytea')
                  AND table_schema NOT IN ('pg_catalog', 'information_schema')
                  AND (table_schema, table_name) IN (SELECT table_schema, table_name FROM information_schema.tables
                                                      WHERE table_type = 'BASE TABLE')"""
        ).fetchall()
        for c in columns:
            q = f'SELECT count(*) AS n FROM "{c["table_schema"]}"."{c["table_name"]}" WHERE "{c["column_name"]}"::text LIKE %s'
            for s in secrets:
                if conn.execute(q, (f"%{s}%",)).fetchone()["n"]:
                    hits.append(f"{c['table_schema']}.{c['table_name']}.{c['column_name']}: {s}")
    return hits


def test_no_secret_reaches_a_log_a_file_or_a_table(stack, fakes):
    client = stack.client
    client.wait_for_dag("longform_science_en")
    client.wait_for_dag("shorts_science_en")
    run_id = client.trigger("longform_science_en", {"topic": TOPIC, "target_seconds": 30})

    def approve_what_waits():
        prod = production_of("science_en", run_id)
        if not prod:
            return
        with connect() as conn:
            waiting = [c for c in checkpoints.pending(conn) if c.production_id == prod["id"]]
        for cp in waiting:
            assert cli(["approve", str(cp.id), "--as", "leak-checker"]) == 0

    assert (
        wait_run(client, stack, "longform_science_en", run_id, RUN_TIMEOUT, approve_what_waits) == "success"
    )
    shorts = wait_for("the Shorts run", lambda: client.runs("shorts_science_en"), timeout=300, every=2)
    assert wait_run(client, stack, "shorts_science_en", shorts[0]["dag_run_id"], RUN_TIMEOUT) == "success"

    # every provider was really used with its key, so a leak had every chance to happen
    prod = production_of("science_en", run_id)
    assert prod["status"] == "published"
    assert fakes["groq"].requests and fakes["azure"].ssml
    assert any(r.status == 200 for r in fakes["pexels"].requests + fakes["pixabay"].requests)
    assert [v for v in fakes["youtube"].videos.values() if v.complete]
    metrics = httpx.get(
        f"{stack.url}/review/metrics",
        headers={"Authorization": f"Bearer {ENV_SECRETS['NICHEFLOW_METRICS_TOKEN']}"},
        timeout=30,
    )
    assert metrics.status_code == 200 and "nicheflow_" in metrics.text
    ops = client.trigger("nicheflow_ops", {})
    assert wait_run(client, stack, "nicheflow_ops", ops, 300) == "success"
    wait_for("the alert mail and post", lambda: fakes["smtp"].mails and fakes["hook"].posts, timeout=60)

    # the logs were there to search: a task log per task of both runs, the components' and the CLI's
    run_logs = list((stack.home / "logs" / "dag_id=longform_science_en").rglob("*.log"))
    assert len(run_logs) >= 12 and (data_dir() / "logs" / "cli.jsonl").stat().st_size > 0
    assert all((stack.home / f"{c}.log").stat().st_size > 0 for c in ("api-server", "scheduler", "triggerer"))
    # the searches find what is there: the topic in the logs, the outbox and the tables, a planted probe
    assert found_in_tables([TOPIC]) and found_in_files([stack.home / "logs"], [TOPIC])
    probe = data_dir() / "channels" / "science_en" / "probe.txt"
    probe.write_text(f"a leak: {REFRESH_TOKEN}")
    assert found_in_files([data_dir()]) == [f"{probe}: {REFRESH_TOKEN}"]
    probe.unlink()
    hits = found_in_files([data_dir()]) + found_in_tables()  # stack.home (Airflow's logs) is in data_dir()
    assert hits == [], "secrets found:\n" + "\n".join(hits)
