"""The Review page and REST API (plugins/nicheflow_review.py) on the real Airflow stack: Airflow's own login and
roles, decisions recorded once (also under concurrency), revisions, media, final edits YouTube would refuse, and
an admin reopen that makes the run's sensor wait again. The form helpers and templates at the top run without
the stack."""

from __future__ import annotations

import http.client
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pipelines import storage
from pipelines.db import connect
from pipelines.paths import REPO
from pipelines.production import locate
from tests.helpers import wait_for

sys.path.insert(0, str(REPO / "plugins"))  # Airflow puts plugins/ on sys.path; pytest does not

from nicheflow_airflow import review_forms as forms  # noqa: E402

CHANNEL, TOPIC = "science_en", "The Hubble Space Telescope"
WALK_CHANNEL, WALK_TOPIC = "historia_ptbr", "Santos Dumont e o voo do 14-bis"
# under 5000 characters, over 5000 bytes in UTF-8
PORTUGUESE = "Ação e emoção: a expedição às ilhas não terminou, então começou a tradição. " * 64

SCRIPT_VIEW = {
    "segments": [
        {
            "index": 0,
            "heading": "Intro",
            "sentences": [
                {"index": 0, "text": "Hubble was launched in 1990."},
                {"index": 1, "text": "It orbits Earth."},
            ],
        }
    ]
}


def test_form_sends_only_what_changed():
    form = {"sentence.0.0": "  Hubble was launched\r\n in 1990. ", "sentence.0.1": "It orbits the Earth."}
    assert forms.edits_from_form("script", SCRIPT_VIEW, form) == {
        "sentences": {"0.1": "It orbits the Earth."}
    }
    broll = {"segments": [{"index": 0, "chosen": 0}, {"index": 1, "chosen": 1}]}
    assert forms.edits_from_form("broll", broll, {"choice.0": "0", "choice.1": "0"}) == {"choices": {"1": 0}}
    final = {"thumbnail": 0, "title": "Hubble", "description": "Line 1\nLine 2", "tags": ["space", "nasa"]}
    same = {"thumbnail": "0", "title": "Hubble ", "description": "Line 1\r\nLine 2", "tags": "space, nasa"}
    assert forms.edits_from_form("final", final, same) == {}
    assert forms.edits_from_form("final", final, {**same, "thumbnail": "2", "tags": "space"}) == {
        "thumbnail": 2,
        "tags": ["space"],
    }


def test_notes_the_schema_documents_are_the_notes_the_server_takes():
    import re

    from nicheflow_airflow.review_api import NOT_BLANK

    # JSON Schema's `pattern` (what clients and schemathesis read) and the domain's strip() agree on every
    # character of the Basic Multilingual Plane: blank for one is blank for the other
    assert [c for c in range(0x10000) if (re.search(NOT_BLANK, chr(c)) is None) != chr(c).isspace()] == []


def test_plain_approve_refuses_to_drop_edits():
    form = {"action": "approve", "sentence.0.1": "Changed."}
    with pytest.raises(forms.FormError, match="Approve with edits"):
        forms.decision_from_form("script", SCRIPT_VIEW, form)
    assert forms.decision_from_form("script", SCRIPT_VIEW, {**form, "action": "approve_edits"}) == (
        "approved",
        None,
        {"sentences": {"0.1": "Changed."}},
    )
    assert forms.decision_from_form(
        "script", SCRIPT_VIEW, {**form, "action": "rejected", "notes": " off "}
    ) == ("rejected", "off", None)


def test_the_final_page_shows_each_problem_next_to_its_field():
    from nicheflow_airflow.review_pages import templates

    view = {
        "video": "final/r1/video.mp4",
        "duration": 20.0,
        "thumbnails": ["final/r1/thumbnails/thumb-1.jpg"],
        "thumbnail": 0,
        "publish_at": "2030-01-01T17:00:00+00:00",
        "chapters": [],
        "title": "Hubble <3",
        "description": "Fine.",
        "tags": ["<b>"],
        "problems": {"title": "remove < and > (title)", "tags": "remove < and > from '<b>' (tags)"},
    }
    html = templates.get_template("stage_final.html").render(view=view, form=None, editable=True, media=str)
    assert html.count('class="field-problem"') == 2
    assert html.index('id="title"') < html.index("(title)</p>") < html.index('id="description"')
    assert html.index('id="tags"') < html.index("(tags)</p>") and "&lt;b&gt;" in html  # escaped
    view["problems"] = {}
    html = templates.get_template("stage_final.html").render(view=view, form=None, editable=True, media=str)
    assert "field-problem" not in html


# --- on the real stack -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack_channel_edits():  # stall after 3.6 s, remind every 1.8 s
    return {WALK_CHANNEL: {"checkpoints.timeout_hours": 0.001, "checkpoints.reminder_hours": 0.0005}}


@pytest.fixture(scope="module")
def stack(airflow_stack):
    airflow_stack.tokens = {
        u: httpx.post(f"{airflow_stack.url}/auth/token", json={"username": u, "password": p}, timeout=30)
        .raise_for_status()
        .json()["access_token"]
        for u, p in airflow_stack.passwords().items()
    }
    return airflow_stack


class Api:
    """One user's view of the Review API (bearer token) and pages (the UI's `_token` cookie)."""

    def __init__(self, stack, user: str | None):
        token = stack.tokens[user] if user else None
        self.http = httpx.Client(
            base_url=f"{stack.url}/review",
            timeout=60,
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        self.page = httpx.Client(
            base_url=f"{stack.url}/review", timeout=60, cookies={"_token": token} if token else {}
        )

    @property
    def csrf(self) -> str:
        """The session's CSRF token, as a Review page carries it (in a meta tag and in every form)."""
        if not hasattr(self, "_csrf"):
            page = self.page.get("/").raise_for_status().text
            self._csrf = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page).group(1)
        return self._csrf

    def form(self, path: str, data: dict) -> httpx.Response:
        """A form of the Review page submitted from the browser (with the session's CSRF token)."""
        return self.page.post(path, data={**data, "csrf_token": self.csrf})

    def checkpoints(self, **params) -> list[dict]:
        return self.http.get("/api/checkpoints", params=params).raise_for_status().json()

    def detail(self, cid: int) -> dict:
        return self.http.get(f"/api/checkpoints/{cid}").raise_for_status().json()

    def decide(self, cid: int, decision: str, notes: str | None = None, edits: dict | None = None, **extra):
        return self.http.post(
            f"/api/checkpoints/{cid}/decision",
            json={"decision": decision, "notes": notes, "edits": edits, **extra},
        )


@pytest.fixture(scope="module")
def users(stack):
    return {u: Api(stack, u) for u in ("admin", "reviewer", "viewer")} | {"anonymous": Api(stack, None)}


@pytest.fixture(scope="module")
def runs(stack):
    """Two real productions, triggered through Airflow at once: the first one is reviewed, changed and
    reopened by most tests; the second one is walked through every stage by the last test."""
    for channel in (CHANNEL, WALK_CHANNEL):
        stack.client.wait_for_dag(f"longform_{channel}")
    return {
        channel: stack.client.trigger(f"longform_{channel}", {"topic": topic, "target_seconds": 30})
        for channel, topic in ((CHANNEL, TOPIC), (WALK_CHANNEL, WALK_TOPIC))
    }


@pytest.fixture(scope="module")
def production(stack, users, runs):
    """The first production, waiting at its script checkpoint."""
    run_id = runs[CHANNEL]

    def waiting():
        stack.check_alive()
        return [
            c for c in users["reviewer"].checkpoints(channel=CHANNEL, stage="script") if c["topic"] == TOPIC
        ]

    cp = wait_for("the script checkpoint", waiting, timeout=240, every=2)[0]
    return {"run_id": run_id, "id": cp["production_id"], "r1": cp["id"]}


@pytest.mark.slow
def test_every_route_needs_a_login(stack, users, production):
    anon, cid = users["anonymous"], production["r1"]
    for path in (
        "/api/checkpoints",
        f"/api/checkpoints/{cid}",
        "/api/channels/state",
        f"/media/{production['id']}/knowledge/query.json",
    ):
        assert anon.http.get(path).status_code == 401, path
    assert anon.decide(cid, "approved").status_code == 401
    assert anon.http.post(f"/api/checkpoints/{cid}/reopen").status_code == 401
    page = anon.page.get("/")  # pages send the browser to Airflow's login, and back here afterwards
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=")
    assert "%2Freview%2F" in page.headers["location"]
    assert anon.page.get(f"/checkpoints/{cid}").status_code == 303
    form = anon.page.post(f"/checkpoints/{cid}/decide", data={"checkpoint_id": cid, "action": "approve"})
    assert form.status_code == 303 and form.headers["location"].endswith(f"%2Freview%2Fcheckpoints%2F{cid}")
    bad = httpx.get(f"{stack.url}/review/api/checkpoints", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code in (401, 403)


@pytest.mark.slow
def test_viewer_reads_but_cannot_decide(users, production):
    viewer, cid = users["viewer"], production["r1"]
    assert cid in [c["id"] for c in viewer.checkpoints()]
    detail = viewer.detail(cid)
    assert detail["permissions"] == {"decide": False, "reopen": False}
    r = viewer.decide(cid, "approved")
    assert r.status_code == 403 and "may view but not decide" in r.json()["detail"]
    after = viewer.detail(cid)["checkpoint"]
    assert after["status"] == "pending" and after["reviewer"] is None
    assert viewer.http.post(f"/api/checkpoints/{cid}/reopen").status_code == 403
    assert viewer.http.get("/api/checkpoints/999999").status_code == 404
    page = viewer.page.get(f"/checkpoints/{cid}")
    assert page.status_code == 200 and "but not decide it" in page.text
    assert 'name="action"' not in page.text and "<textarea" not in page.text
    form = viewer.form(f"/checkpoints/{cid}/decide", data={"checkpoint_id": cid, "action": "approve"})
    assert form.status_code == 403 and "may view but not decide" in form.text


@pytest.mark.slow
def test_forms_need_the_sessions_csrf_token(users, production):
    """A form post (or a cookie-signed API call) without this session's CSRF token is refused with 403 and a
    message saying to reload, and decides nothing; the REST API with a bearer token needs no such token."""
    reviewer, admin, cid = users["reviewer"], users["admin"], production["r1"]
    page = reviewer.page.get(f"/checkpoints/{cid}").text
    assert f'name="csrf_token" value="{reviewer.csrf}"' in page  # inside the decision form
    assert reviewer.csrf != admin.csrf  # per session
    form = {"checkpoint_id": str(cid), "revision": "1", "action": "approve"}
    for token in (None, "", "0" * 64, admin.csrf):  # none, empty, forged, another session's
        sent = form if token is None else {**form, "csrf_token": token}
        r = reviewer.page.post(f"/checkpoints/{cid}/decide", data=sent)
        assert r.status_code == 403 and "security token is missing or out of date" in r.text, token
        assert "Reload the page" in r.text
    api = reviewer.page.post(f"/api/checkpoints/{cid}/decision", json={"decision": "approved"})
    assert api.status_code == 403 and "X-CSRF-Token" in api.json()["detail"]
    header = {"X-CSRF-Token": reviewer.csrf}  # with the header, the call reaches the API (here: a bad body)
    assert (
        reviewer.page.post(
            f"/api/checkpoints/{cid}/decision", json={"decision": "maybe"}, headers=header
        ).status_code
        == 422
    )
    assert reviewer.page.post("/attention/999999/retry").status_code == 403
    gone = reviewer.form("/attention/999999/retry", {})  # the token passes: the page answers "no such mark"
    assert gone.status_code == 303 and "error=" in gone.headers["location"]
    assert admin.page.post(f"/checkpoints/{cid}/reopen", data={"checkpoint_id": str(cid)}).status_code == 403
    detail = reviewer.detail(cid)
    assert detail["checkpoint"]["status"] == "pending" and detail["checkpoint"]["reviewer"] is None
    assert detail["events"] == []  # nothing was decided, reopened or recorded


@pytest.mark.slow
def test_pages_list_and_show_the_checkpoint(users, production):
    reviewer, cid = users["reviewer"], production["r1"]
    index = reviewer.page.get("/")
    assert index.status_code == 200 and TOPIC in index.text and f"/checkpoints/{cid}" in index.text
    assert "Channels" in index.text and CHANNEL in index.text
    assert TOPIC not in reviewer.page.get("/", params={"channel": "historia_ptbr"}).text
    assert TOPIC not in reviewer.page.get("/", params={"stage": "audio"}).text
    page = reviewer.page.get(f"/checkpoints/{cid}")
    assert (
        page.status_code == 200
        and 'name="sentence.0.0"' in page.text
        and 'value="approve_edits"' in page.text
    )
    view = reviewer.detail(cid)["view"]
    fact = next(s["fact"] for seg in view["segments"] for s in seg["sentences"] if s["fact"])
    assert fact["source_title"] in page.text and fact["claim"][:40] in page.text
    state = reviewer.http.get("/api/channels/state").json()
    assert next(s for s in state if s["channel"] == CHANNEL)["in_flight"]["script"] >= 1


@pytest.mark.slow
def test_request_changes_makes_a_second_revision(users, production):
    reviewer, r1 = users["reviewer"], production["r1"]
    no_notes = reviewer.decide(r1, "changes_requested")  # notes are required, as the schema says
    assert no_notes.status_code == 422 and no_notes.json()["detail"][0]["loc"][-1] == "notes"
    assert reviewer.decide(r1, "rejected", notes="  ").status_code == 422  # notes of only spaces are none
    assert reviewer.decide(r1, "maybe").status_code == 422
    assert reviewer.decide(r1, "approved", reviewer="someone-else").status_code == 422  # never from the body
    r = reviewer.decide(r1, "changes_requested", notes="shorter sentences please")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "changes_requested" and r.json()["reviewer"] == "reviewer"

    def second():
        rows = [c for c in reviewer.checkpoints(channel=CHANNEL, stage="script") if c["topic"] == TOPIC]
        return rows and rows[0]["revision"] == 2 and rows[0]["id"]

    r2 = wait_for("revision 2 of the script", second, timeout=120)
    production["r2"] = r2
    old, new = reviewer.detail(r1), reviewer.detail(r2)
    assert [v["id"] for v in old["revisions"]] == [v["id"] for v in new["revisions"]] == [r1, r2]
    assert old["checkpoint"]["status"] == "changes_requested" and not old["latest"] and new["latest"]
    assert old["view"]["segments"] and new["view"]["review_notes"] == "shorter sentences please"
    older_page = reviewer.page.get(f"/checkpoints/{r1}")
    assert "An older revision, shown read-only" in older_page.text and "<textarea" not in older_page.text


@pytest.mark.slow
def test_concurrent_decisions_one_wins_with_its_edits(users, production):
    reviewer, r2 = users["reviewer"], production["r2"]
    view = reviewer.detail(r2)["view"]
    key = next(
        f"{seg['index']}.{s['index']}" for seg in view["segments"] for s in seg["sentences"] if s["fact"]
    )
    edits = [{"sentences": {key: f"Edited by reviewer, attempt {i}."}} for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda e: reviewer.decide(r2, "approved", edits=e), edits))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 7, [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert all("already decided" in a.json()["detail"] for a in answers if a.status_code == 409)

    row = reviewer.detail(r2)
    assert row["checkpoint"]["status"] == "approved" and row["checkpoint"]["reviewer"] == "reviewer"
    assert row["checkpoint"]["edits"] == winner["edits"] and winner["edits"] in edits
    seg, sent = (int(x) for x in key.split("."))
    sentence = row["view"]["segments"][seg]["sentences"][sent]
    assert sentence["text"] == winner["edits"]["sentences"][key] and sentence["edited"]
    assert [e["action"] for e in row["events"]] == ["approved"] and row["events"][0]["actor"] == "reviewer"

    again = reviewer.decide(r2, "rejected", notes="too late")
    assert again.status_code == 409 and reviewer.detail(r2)["checkpoint"]["status"] == "approved"


@pytest.mark.slow
def test_media_is_served_inside_the_workspace_only(stack, users, production):
    reviewer, pid = users["reviewer"], production["id"]
    script = reviewer.detail(production["r2"])["checkpoint"]["artifacts"]["script"]
    whole = users["viewer"].http.get(f"/media/{pid}/{script}")
    assert whole.status_code == 200 and whole.json()["segments"]
    part = reviewer.http.get(f"/media/{pid}/{script}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole.content[:10]
    assert reviewer.http.get(f"/media/{pid}/no/such/file.json").status_code == 404
    for escape in (
        "..%2F..%2F..%2Fairflow%2Fpasswords.json",
        "script%2F..%2F..%2F..%2Fairflow%2Fjwt_secret",
        "%2Fetc%2Fpasswd",
    ):
        r = reviewer.http.get(httpx.URL(f"{str(reviewer.http.base_url).rstrip('/')}/media/{pid}/{escape}"))
        assert r.status_code == 400, (escape, r.status_code, r.text[:200])
    for raw in ("../../../airflow/passwords.json", "%2e%2e/%2e%2e/%2e%2e/airflow/jwt_secret", "/etc/passwd"):
        # sent as written: no client-side normalising of the dots
        conn = http.client.HTTPConnection(
            reviewer.http.base_url.host, reviewer.http.base_url.port, timeout=30
        )
        conn.request("GET", f"/review/media/{pid}/{raw}", headers=dict(reviewer.http.headers))
        answer = conn.getresponse()
        assert answer.status in (400, 404) and b"passwords" not in answer.read(), (raw, answer.status)
        conn.close()
    # a symlink planted in the workspace, pointing out of it, is refused; the real file is still served
    with connect() as conn:
        row = conn.execute("SELECT channel, workspace FROM productions WHERE id = %s", (pid,)).fetchone()
    key, old = locate(row["channel"], row["workspace"])
    planted = (old or storage.get().local_root / key) / "planted.json"
    planted.symlink_to(stack.home / "passwords.json")
    try:
        r = reviewer.http.get(f"/media/{pid}/planted.json")
        assert r.status_code == 400 and "outside the production's workspace" in r.text, r.text[:200]
    finally:
        planted.unlink()


@pytest.mark.slow
def test_openapi_lists_the_api(stack):
    schema = httpx.get(f"{stack.url}/review/openapi.json").raise_for_status().json()
    assert {
        "/api/checkpoints",
        "/api/checkpoints/{checkpoint_id}",
        "/api/checkpoints/{checkpoint_id}/decision",
        "/api/checkpoints/{checkpoint_id}/reopen",
        "/api/channels/state",
        "/media/{production_id}/{path}",
    } <= set(schema["paths"])
    body = schema["paths"]["/api/checkpoints/{checkpoint_id}/decision"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/DecisionIn")
    assert {"Checkpoint", "CheckpointDetail", "DecisionIn", "Reopened", "ChannelState"} <= set(
        schema["components"]["schemas"]
    )


@pytest.mark.slow
def test_admin_reopens_and_the_run_waits_again(stack, users, production):
    r2, dag_id, run_id = production["r2"], f"longform_{CHANNEL}", production["run_id"]
    # reopened while the audio stage runs: Airflow stops it, and the reopen returns once it has stopped (a
    # decision before that would leave the run behind a "restarting" task, which Airflow marks failed)
    wait_for(
        "review_script to finish and the audio stage to run",
        lambda: stack.client.task_states(dag_id, run_id).get("audio") == "running",
        timeout=120,
        every=0.25,
    )
    assert f'action="/review/checkpoints/{r2}/reopen"' in users["admin"].page.get(f"/checkpoints/{r2}").text
    assert "/reopen" not in users["reviewer"].page.get(f"/checkpoints/{r2}").text
    denied = users["reviewer"].http.post(f"/api/checkpoints/{r2}/reopen")
    assert denied.status_code == 403 and "admin" in denied.json()["detail"]

    r = users["admin"].http.post(f"/api/checkpoints/{r2}/reopen")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checkpoint"]["status"] == "pending" and body["checkpoint"]["edits"] is None
    assert body["airflow"]["cleared"] and "review_script" in body["airflow"]["task_ids"], body["airflow"]
    assert (
        body["airflow"]["error"] is None
        and "restarting" not in stack.client.task_states(dag_id, run_id).values()
    )
    assert users["admin"].http.post(f"/api/checkpoints/{r2}/reopen").status_code == 409  # already pending
    wait_for(
        "review_script to wait again",
        lambda: stack.client.task_states(dag_id, run_id).get("review_script") == "deferred",
        timeout=90,
    )

    # the page's form decides the reopened checkpoint; the same form posted again changes nothing
    form = {"checkpoint_id": str(r2), "revision": "2", "action": "rejected", "notes": "off-topic after all"}
    first = users["reviewer"].form(f"/checkpoints/{r2}/decide", form)  # with the session's CSRF token
    assert first.status_code == 303 and first.headers["location"].endswith(f"/checkpoints/{r2}?done=rejected")
    second = users["reviewer"].form(f"/checkpoints/{r2}/decide", form)
    assert second.status_code == 409 and "already decided" in second.text
    events = users["admin"].detail(r2)["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("approved", "reviewer"),
        ("reopened", "admin"),
        ("rejected", "reviewer"),
    ]
    wait_for(
        "the run to end",
        lambda: stack.client.run_state(dag_id, run_id) in ("success", "failed"),
        timeout=120,
        every=2,
    )
    states = stack.client.task_states(dag_id, run_id)
    assert states["review_script"] == "skipped" and states["publish"] == "skipped"


def page_form(cp: dict, action: str, fields: dict[str, str]) -> dict[str, str]:
    """What the browser posts from the checkpoint page."""
    return {
        "checkpoint_id": str(cp["id"]),
        "revision": str(cp["revision"]),
        "notes": "",
        "action": action,
        **fields,
    }


@pytest.mark.slow
def test_walk_through_every_stage(stack, users, runs):
    reviewer, viewer = users["reviewer"], users["viewer"]

    def waiting(stage: str) -> dict:
        return wait_for(
            f"the {stage} checkpoint",
            lambda: [
                c for c in reviewer.checkpoints(channel=WALK_CHANNEL, stage=stage) if c["topic"] == WALK_TOPIC
            ],
            timeout=240,
            every=1,
        )[0]

    # a checkpoint waiting past its channel's timeout is stalled, and its reminders are counted
    cp = waiting("script")
    cp = wait_for(
        "a stalled, reminded checkpoint",
        lambda: [
            c
            for c in reviewer.checkpoints(channel=WALK_CHANNEL)
            if c["id"] == cp["id"] and c["stalled"] and c["reminders"] >= 1
        ],
        timeout=60,
    )[0]
    index = reviewer.page.get("/", params={"channel": WALK_CHANNEL}).text
    assert (
        WALK_TOPIC in index and '<span class="badge stalled">stalled</span>' in index and "reminder" in index
    )
    state = next(s for s in reviewer.http.get("/api/channels/state").json() if s["channel"] == WALK_CHANNEL)
    assert state["stalled"] == 1 and state["in_flight"]["script"] == 1

    # script: the page's form sends only the sentence that really changed (not a whitespace-only one)
    pid, view = cp["production_id"], reviewer.detail(cp["id"])["view"]
    fields = {
        f"sentence.{seg['index']}.{s['index']}": s["text"]
        for seg in view["segments"]
        for s in seg["sentences"]
    }
    key = next(
        f"{seg['index']}.{s['index']}" for seg in view["segments"] for s in seg["sentences"] if s["fact"]
    )
    other = next(k for k in fields if k != f"sentence.{key}")
    fields[other] = "  " + fields[other].replace(" ", "\r\n  ", 1) + " "
    fields[f"sentence.{key}"] = "Santos Dumont voou com o 14-bis em Paris, em 1906."
    r = reviewer.form(f"/checkpoints/{cp['id']}/decide", page_form(cp, "approve_edits", fields))
    assert r.status_code == 303, r.text[-500:]
    decided = reviewer.detail(cp["id"])["checkpoint"]
    assert decided["edits"] == {"sentences": {key: "Santos Dumont voou com o 14-bis em Paris, em 1906."}}

    # audio: a player for the whole narration and one per segment; the files stream with range requests
    cp = waiting("audio")
    view = reviewer.detail(cp["id"])["view"]
    page = reviewer.page.get(f"/checkpoints/{cp['id']}").text
    assert page.count("<audio") == 1 + len(view["segments"]) and f"/review/media/{pid}/" in page
    part = viewer.http.get(f"/media/{pid}/{view['narration']}", headers={"Range": "bytes=0-99"})
    assert (
        part.status_code == 206
        and part.headers["content-type"].startswith("audio/")
        and len(part.content) == 100
    )
    assert reviewer.decide(cp["id"], "approved", edits={"sentences": {"0.0": "x"}}).status_code == 400
    assert reviewer.decide(cp["id"], "approved").status_code == 200

    # broll: every option with its source and licence; the form swaps one segment's visual
    cp = waiting("broll")
    view = reviewer.detail(cp["id"])["view"]
    page = reviewer.page.get(f"/checkpoints/{cp['id']}").text
    assert page.count("<img") + page.count("<video") == sum(len(s["options"]) for s in view["segments"])
    assert view["segments"][0]["options"][0]["licence"] in page
    seg = next(s for s in view["segments"] if len(s["options"]) > 1)
    fields = {f"choice.{s['index']}": str(s["chosen"]) for s in view["segments"]}
    fields[f"choice.{seg['index']}"] = str((seg["chosen"] + 1) % len(seg["options"]))
    r = reviewer.form(f"/checkpoints/{cp['id']}/decide", page_form(cp, "approve", fields))
    assert r.status_code == 400 and "Approve with edits" in r.text  # a plain approve never drops a swap
    r = reviewer.form(f"/checkpoints/{cp['id']}/decide", page_form(cp, "approve_edits", fields))
    assert r.status_code == 303
    assert reviewer.detail(cp["id"])["checkpoint"]["edits"] == {
        "choices": {str(seg["index"]): (seg["chosen"] + 1) % len(seg["options"])}
    }

    # final: the video, three thumbnails and the metadata; the edits reach the published item
    cp = waiting("final")
    view = reviewer.detail(cp["id"])["view"]
    page = reviewer.page.get(f"/checkpoints/{cp['id']}").text
    assert "<video" in page and page.count('name="thumbnail"') == len(view["thumbnails"]) == 3
    assert 'name="title"' in page and view["publish_at"][:10] in page
    part = reviewer.http.get(f"/media/{pid}/{view['video']}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.headers["content-type"] == "video/mp4"
    # edits YouTube would refuse: the API answers 400 saying what to fix in each field, the page shows the
    # form again with the message and the reviewer's text, and the checkpoint waits with everything it had
    assert view["problems"] == {}
    artifacts = reviewer.detail(cp["id"])["checkpoint"]["artifacts"]
    r = reviewer.decide(cp["id"], "approved", edits={"description": PORTUGUESE})
    assert r.status_code == 400 and r.json()["detail"].startswith("edits.description: 5,")
    assert "bytes in UTF-8" in r.json()["detail"] and "(accented letters take 2)" in r.json()["detail"]
    tags = [f"tag number {i:02d}" for i in range(35)]  # 559 characters as YouTube counts them
    r = reviewer.decide(cp["id"], "approved", edits={"title": "Santos <Dumont>", "tags": tags})
    assert r.status_code == 400 and r.json()["detail"].splitlines() == [
        "edits.title: remove < and > (YouTube refuses them)",
        "edits.tags: 559 characters as YouTube counts them (a comma between tags, 2 more for a tag with a "
        "space); YouTube allows 500 — remove tags or shorten them by 59",
    ]
    fields = {"title": "Santos <Dumont>", "description": view["description"], "tags": ", ".join(view["tags"])}
    r = reviewer.form(f"/checkpoints/{cp['id']}/decide", page_form(cp, "approve_edits", fields))
    assert r.status_code == 400 and "edits.title: remove &lt; and &gt; (YouTube refuses them)" in r.text
    assert 'value="Santos &lt;Dumont&gt;"' in r.text  # the form keeps what the reviewer typed
    still = reviewer.detail(cp["id"])
    assert still["checkpoint"]["status"] == "pending" and still["checkpoint"]["artifacts"] == artifacts
    r = reviewer.decide(cp["id"], "approved", edits={"title": "Santos Dumont e o 14-bis", "thumbnail": 2})
    assert r.status_code == 200, r.text

    dag_id = f"longform_{WALK_CHANNEL}"
    wait_for(
        "the run to end",
        lambda: stack.client.run_state(dag_id, runs[WALK_CHANNEL]) in ("success", "failed"),
        timeout=120,
        every=2,
    )
    assert stack.client.run_state(dag_id, runs[WALK_CHANNEL]) == "success"
    from pipelines.files import read_json
    from pipelines.paths import outbox_dir

    item = outbox_dir(WALK_CHANNEL) / f"{pid:05d}-longform"
    assert read_json(item / "metadata.json")["title"] == "Santos Dumont e o 14-bis"
    workspace_thumb = reviewer.http.get(f"/media/{pid}/{view['thumbnails'][2]}").content
    assert (item / "thumbnail.jpg").read_bytes() == workspace_thumb
