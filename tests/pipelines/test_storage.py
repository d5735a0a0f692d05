"""Production storage (pipelines.storage, pipelines.workspace): the data folder by default, exactly as before,
or an S3-compatible bucket — here moto's server on loopback, reached through s3fs as AWS or MinIO would be.
With a bucket, one production's stages run on workers with separate data folders; a stage that dies while
uploading counts for nothing and its retry completes; the Review page serves media from the bucket; every
task's scratch is gone after it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import checkpoints, production, review, storage
from pipelines.db import connect
from pipelines.files import read_json
from pipelines.media.ffmpeg import probe
from pipelines.stages import runner, shorts, start
from pipelines.storage import S3Storage, StorageConfigError
from tests.helpers import edit_yaml

TOPIC = "The Hubble Space Telescope"


def worker(monkeypatch, folder: Path) -> Path:
    """From here on, tasks run as a worker whose data folder is `folder` (its caches and scratch)."""
    monkeypatch.setenv("NICHEFLOW_DATA_DIR", str(folder))
    return folder


def no_scratch_left(folder: Path) -> bool:
    scratch = folder / "scratch"
    return not scratch.exists() or not any(scratch.iterdir())


def approve(cid: int) -> None:
    with connect() as conn:
        checkpoints.decide(conn, cid, "approved", "tester")


def key_of(pid: int) -> str:
    with connect() as conn:
        row = conn.execute("SELECT channel, workspace FROM productions WHERE id = %s", (pid,)).fetchone()
    return production.locate(row["channel"], row["workspace"])[0]


def fetch(store: S3Storage, key: str, dest: Path) -> Path:
    assert store.get(key, dest), f"{key} is not stored"
    return dest


def playable(path: Path) -> None:
    """ffmpeg decodes every frame of the file without an error."""
    from imageio_ffmpeg import get_ffmpeg_exe

    run = subprocess.run(
        [get_ffmpeg_exe(), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr[-2000:]


# --- the storage URL and its connection ----------------------------------------------------------------


def test_unset_or_file_means_the_data_folder(data_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("NICHEFLOW_STORAGE_URL", raising=False)
    assert storage.get().local_root == data_dir.resolve()
    monkeypatch.setenv("NICHEFLOW_STORAGE_URL", "file://")
    assert storage.get().local_root == data_dir.resolve()
    monkeypatch.setenv("NICHEFLOW_STORAGE_URL", f"file://{tmp_path / 'shared'}")
    assert storage.get().local_root == (tmp_path / "shared").resolve()
    monkeypatch.setenv("NICHEFLOW_STORAGE_URL", "ftp://somewhere/x")
    with pytest.raises(StorageConfigError, match="s3://<connection id>@<bucket>/<prefix>"):
        storage.get()


def test_the_bucket_connection_follows_the_amazon_providers_conventions(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MINIO",
        json.dumps(
            {
                "conn_type": "aws",
                "extra": json.dumps(
                    {
                        "aws_access_key_id": "AKIAEXAMPLE",
                        "aws_secret_access_key": "s3cr3t-value",
                        "service_config": {"s3": {"endpoint_url": "http://minio:9000"}},
                        "region_name": "eu-west-1",
                    }
                ),
            }
        ),
    )
    s = storage.s3_settings("minio")
    assert (s.endpoint_url, s.key, s.secret, s.region) == (
        "http://minio:9000",
        "AKIAEXAMPLE",
        "s3cr3t-value",
        "eu-west-1",
    )
    assert "s3cr3t" not in repr(s) and "AKIA" not in repr(s)  # what a log line could show
    # the URI form, login/password as the keys
    monkeypatch.setenv(
        "AIRFLOW_CONN_MINIO", "aws://AKIA2:p%2Fss@/?endpoint_url=http%3A%2F%2F127.0.0.1%3A9000"
    )
    s = storage.s3_settings("minio")
    assert (s.endpoint_url, s.key, s.secret) == ("http://127.0.0.1:9000", "AKIA2", "p/ss")
    # a connection named in the URL that is nowhere: say what to set
    monkeypatch.setenv("NICHEFLOW_STORAGE_URL", "s3://nowhere@bucket/prefix")
    with pytest.raises(StorageConfigError, match="AIRFLOW_CONN_NOWHERE is not set"):
        storage.get()
    assert storage.conn_id_of("s3://bucket/p") == "aws_default" and storage.conn_id_of("file:///x") is None


def test_keys_never_leave_the_storage():
    for bad in ("../x", "a/../../b", "/etc/passwd", "a\\b", ""):
        with pytest.raises(ValueError):
            storage.check_key(bad)


# --- the data folder: as before ------------------------------------------------------------------------


def test_with_the_data_folder_the_row_names_a_key_and_old_rows_are_read(database, data_dir, configs):
    pid = start.run("science_en", TOPIC, "manual__local")
    with connect() as conn:
        row = conn.execute("SELECT workspace FROM productions WHERE id = %s", (pid,)).fetchone()
        p = production.load(conn, pid)
    assert row["workspace"] == f"channels/science_en/productions/{pid:05d}-the-hubble-space-telescope"
    assert p.workspace == data_dir.resolve() / row["workspace"] and p.workspace.is_dir()
    old = data_dir / "elsewhere" / "00007-old"  # a row written before storage: an absolute folder
    (old / "script" / "r1").mkdir(parents=True)
    (old / "script" / "r1" / "script.json").write_text("{}")
    with connect() as conn:
        conn.execute("UPDATE productions SET workspace = %s WHERE id = %s", (str(old), pid))
        p = production.load(conn, pid)
        assert review.media_file(conn, pid, "script/r1/script.json") == old / "script" / "r1" / "script.json"
    assert p.workspace == old and p.abs("script/r1/script.json").read_text() == "{}"
    assert no_scratch_left(data_dir)


# --- a bucket ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_production_on_workers_with_separate_data_folders(
    database, configs, s3_storage, tmp_path, monkeypatch
):
    """Script and audio on worker A, b-roll and final on worker B, publish and Shorts on worker C; each
    worker's folder is deleted once it is done, so nothing a later stage needs can come from its disk."""
    store = s3_storage
    a = worker(monkeypatch, tmp_path / "worker-a")
    pid = start.run("science_en", TOPIC, "manual__s3", target_seconds=20)
    key = key_of(pid)
    assert not key.startswith("/")  # the row pins no worker's path
    runner.run("knowledge", pid)
    approve(runner.run_stage("script", pid))
    approve(runner.run_stage("audio", pid))
    assert no_scratch_left(a) and not (a / "channels").exists()  # nothing of the production stayed on A
    assert store.exists(f"{key}/audio/r1/narration.wav") and store.exists(f"{key}/knowledge/query.json")
    shutil.rmtree(a)

    b = worker(monkeypatch, tmp_path / "worker-b")
    bid = runner.run_stage("broll", pid)
    with connect() as conn:  # the reviewer swaps a visual: the edited manifest is stored before it commits
        review.decide(conn, bid, "approved", "editor", edits={"choices": {"1": 2}})
    assert store.exists(f"{key}/broll/r1/visuals.chosen.json")
    fid = runner.run_stage("final", pid)
    with connect() as conn:
        view = review.checkpoint_detail(conn, fid)["view"]  # the Review page's view reads the bucket too
        review.decide(conn, fid, "approved", "editor", edits={"title": "Hubble, fact by fact"})
    assert len(view["thumbnails"]) == 3
    assert no_scratch_left(b) and not (b / "channels").exists()
    shutil.rmtree(b)

    c = worker(monkeypatch, tmp_path / "worker-c")
    receipt = runner.run("publish", pid)
    assert runner.run("publish", pid) == receipt  # a retry publishes nothing twice
    runner.run("learnings", pid)
    made = shorts.run(pid, "science_en")
    assert shorts.run(pid, "science_en") == made  # a retry cuts nothing twice
    assert no_scratch_left(c) and not (c / "channels").exists()

    with connect() as conn:
        timings_rel = checkpoints.approved(conn, pid, "audio").artifacts["timings"]
    timings = read_json(fetch(store, f"{key}/{timings_rel}", tmp_path / "timings.json"))
    item = f"channels/science_en/outbox/{pid:05d}-longform"
    assert receipt["folder"] == store.where(item)
    assert {k.rsplit("/", 1)[1] for k in store.list(item)} == {
        "video.mp4",
        "thumbnail.jpg",
        "captions.srt",
        "metadata.json",
        "receipt.json",
    }
    assert json.loads(store.read_bytes(f"{item}/metadata.json") or b"")["title"] == "Hubble, fact by fact"
    video = fetch(store, f"{item}/video.mp4", tmp_path / "video.mp4")
    info = probe(video)
    assert (info.video.width, info.video.height, info.video.codec, info.audio.codec) == (
        1920,
        1080,
        "h264",
        "aac",
    )
    assert abs(info.duration - timings["duration"]) < 0.1
    playable(video)
    short = probe(fetch(store, f"channels/science_en/outbox/{pid:05d}-short-1/video.mp4", tmp_path / "s.mp4"))
    assert (short.video.width, short.video.height) == (1080, 1920) and short.duration > 5


def test_a_stage_that_dies_while_uploading_counts_for_nothing_and_its_retry_completes(
    database, configs, s3_storage, tmp_path, monkeypatch
):
    store = s3_storage
    edit_yaml(configs / "science_en.yaml", {"audio_qa.model": "off"})
    folder = worker(monkeypatch, tmp_path / "worker")
    pid = start.run("science_en", TOPIC, "manual__killed", target_seconds=20)
    key = key_of(pid)
    runner.run("knowledge", pid)
    approve(runner.run_stage("script", pid))

    upload = S3Storage.put_many

    def dies_after_two(self, pairs):  # the worker is lost after two of the narration's files went up
        upload(self, pairs[:2])
        raise ConnectionError("worker lost mid-upload")

    monkeypatch.setattr(S3Storage, "put_many", dies_after_two)
    with pytest.raises(ConnectionError):
        runner.run_stage("audio", pid)
    with connect() as conn:
        assert checkpoints.latest(conn, pid, "audio") is None  # nothing counts as done
    assert len(store.list(f"{key}/audio")) == 2 and no_scratch_left(folder)

    monkeypatch.setattr(S3Storage, "put_many", upload)
    cid = runner.run_stage("audio", pid)
    assert runner.run_stage("audio", pid) == cid  # the retry of a finished stage finds it done
    with connect() as conn:
        art = checkpoints.get(conn, cid).artifacts
    timings = read_json(fetch(store, f"{key}/{art['timings']}", tmp_path / "timings.json"))
    named = [art["narration"], art["timings"], *(s["file"] for s in timings["segments"])]
    assert all(store.exists(f"{key}/{rel}") for rel in named)
    narration = probe(fetch(store, f"{key}/{art['narration']}", tmp_path / "narration.wav"))
    assert abs(narration.duration - art["duration"]) < 0.05
    assert no_scratch_left(folder) and not (folder / "channels").exists()


def test_the_review_pages_media_route_serves_files_from_the_bucket(
    database, configs, s3_storage, tmp_path, monkeypatch
):
    from fastapi.testclient import TestClient

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))
    from nicheflow_airflow.review_app import app
    from nicheflow_airflow.review_auth import Reviewer, api_reviewer

    store = s3_storage
    folder = worker(monkeypatch, tmp_path / "api-server")
    pid = start.run("science_en", TOPIC, "manual__media")
    runner.run("knowledge", pid)
    cid = runner.run_stage("script", pid)
    with connect() as conn:
        rel = checkpoints.get(conn, cid).artifacts["script"]
    stored = store.read_bytes(f"{key_of(pid)}/{rel}")
    assert stored and not (folder / "channels").exists()

    reader = Reviewer(
        user=None, _cache={("GET", "science_en"): True}
    )  # Airflow's auth manager says "may read"
    app.dependency_overrides[api_reviewer] = lambda: reader
    try:
        http = TestClient(app)
        whole = http.get(f"/media/{pid}/{rel}")
        assert whole.status_code == 200 and whole.content == stored
        part = http.get(f"/media/{pid}/{rel}", headers={"Range": "bytes=0-9"})
        assert part.status_code == 206 and part.content == stored[:10]
        assert http.get(f"/media/{pid}/script/r9/none.json").status_code == 404
        assert http.get(f"/media/{pid}/script/..%2F..%2F..%2Fx").status_code == 400
        store.write_bytes(
            f"{key_of(pid)}/{rel}", b'{"changed": true}'
        )  # a new version is served, not the copy
        assert http.get(f"/media/{pid}/{rel}").content == b'{"changed": true}'
    finally:
        app.dependency_overrides.pop(api_reviewer, None)
    assert no_scratch_left(folder)
