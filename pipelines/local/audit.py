"""The dependency audit of `make lint`: pip-audit over the pinned lock (requirements.txt, `--no-deps
--disable-pip`: nothing is resolved or downloaded), against an advisory source that works offline.

pip-audit's own services (PyPI's JSON API, api.osv.dev) are on the internet. Offline, this serves a snapshot
of OSV's PyPI advisories on a loopback port with the OSV query API (`POST /v1/query`), and points pip-audit
at it with `--osv-url`. The snapshot is OSV's bulk export for PyPI, as a zip (`PyPI/all.zip` of OSV's
vulnerability bucket) or a folder of its JSON records, fetched wherever there is internet and copied here:

    NICHEFLOW_AUDIT_DB        the snapshot (default: <data folder>/audit/osv-PyPI.zip)
    NICHEFLOW_AUDIT_OSV_URL   instead, an OSV query API to ask (a mirror, or https://api.osv.dev/v1/query)
    NICHEFLOW_AUDIT_REQUIRED  1: no advisory source is a failure (exit 2), not a skip

With neither, the audit is skipped and says so: nothing is reported as audited that was not. Exit codes:
0 no known vulnerability (or skipped), 1 vulnerabilities found (pip-audit's table names them and the fixed
versions), 2 no source while required, or pip-audit could not run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.version import InvalidVersion, Version

from pipelines.paths import REPO, data_dir

LOCK = REPO / "requirements.txt"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def default_snapshot() -> Path:
    return data_dir() / "audit" / "osv-PyPI.zip"


def _records(snapshot: Path) -> Iterator[dict]:
    if snapshot.is_dir():
        for path in sorted(snapshot.rglob("*.json")):
            yield json.loads(path.read_text(encoding="utf-8"))
        return
    with zipfile.ZipFile(snapshot) as z:
        for name in z.namelist():
            if name.endswith(".json"):
                yield json.loads(z.read(name))


class Advisories:
    """An OSV snapshot indexed by PyPI package, answering which advisories affect a version."""

    def __init__(self, snapshot: Path):
        self.by_package: dict[str, list[dict]] = defaultdict(list)
        self.newest = ""  # the latest `modified` time in the snapshot: how current it is
        for record in _records(snapshot):
            self.newest = max(self.newest, str(record.get("modified") or ""))
            for name in {
                canonical(a["package"]["name"])
                for a in record.get("affected", [])
                if a.get("package", {}).get("ecosystem") == "PyPI"
            }:
                self.by_package[name].append(record)

    def __len__(self) -> int:
        return len({r["id"] for records in self.by_package.values() for r in records})

    def affecting(self, name: str, version: str) -> list[dict]:
        name = canonical(name)
        return [
            r
            for r in self.by_package.get(name, [])
            if not r.get("withdrawn")
            and any(
                _affects(a, version)
                for a in r.get("affected", [])
                if a.get("package", {}).get("ecosystem") == "PyPI" and canonical(a["package"]["name"]) == name
            )
        ]


def _version(v: str) -> Version | None:
    try:
        return Version(v)
    except InvalidVersion:
        return None


def _affects(affected: dict, version: str) -> bool:
    """OSV's rule for one `affected` entry: the version is listed, or lies in an ECOSYSTEM range (from an
    `introduced` up to, not including, the next `fixed`, or up to and including `last_affected`)."""
    if version in affected.get("versions", []):
        return True
    v = _version(version)
    if v is None:
        return False
    for rng in affected.get("ranges", []):
        if rng.get("type") != "ECOSYSTEM":
            continue
        inside = False
        for event in rng.get("events", []):
            if "introduced" in event:
                start = event["introduced"]
                inside = start == "0" or ((sv := _version(start)) is not None and v >= sv)
            elif "fixed" in event and inside and (fv := _version(event["fixed"])) is not None and v < fv:
                return True
            elif "last_affected" in event and inside and (lv := _version(event["last_affected"])) is not None:
                if v <= lv:
                    return True
            if "fixed" in event or "last_affected" in event:
                inside = False
        if inside:  # introduced, never fixed
            return True
    return False


def _canonical_names(record: dict) -> dict:
    """The record with its PyPI package names canonical, as pip-audit compares them (for the fixed versions)."""
    affected = [
        a | {"package": a["package"] | {"name": canonical(a["package"]["name"])}}
        if a.get("package", {}).get("ecosystem") == "PyPI"
        else a
        for a in record.get("affected", [])
    ]
    return record | {"affected": affected}


@contextmanager
def osv_endpoint(advisories: Advisories) -> Iterator[str]:
    """OSV's query API (`POST /v1/query`) over the snapshot, on a loopback port; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            query = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            package = query.get("package") or {}
            vulns = [
                _canonical_names(r)
                for r in advisories.affecting(package.get("name", ""), str(query.get("version", "")))
            ]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def pip_audit(osv_url: str, lock: Path = LOCK) -> int:
    with tempfile.TemporaryDirectory(prefix="nicheflow-audit-") as cache:
        cmd = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--requirement", str(lock)]
        cmd += ["--vulnerability-service", "osv", "--osv-url", osv_url, "--progress-spinner", "off"]
        cmd += ["--cache-dir", cache, "--desc", "on"]
        return subprocess.run(cmd, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    lock = Path(argv[0]) if argv else LOCK
    if url := os.environ.get("NICHEFLOW_AUDIT_OSV_URL"):
        print(f"dependency audit: {lock.name} against the OSV API at {url}", flush=True)
        return 1 if pip_audit(url, lock) else 0
    snapshot = Path(os.environ.get("NICHEFLOW_AUDIT_DB") or default_snapshot())
    if not snapshot.exists():
        print(
            f"dependency audit SKIPPED: no advisory data here, so {lock.name} was NOT audited. pip-audit needs "
            "PyPI's JSON API or api.osv.dev, which this machine cannot reach. Put OSV's PyPI export "
            f"(PyPI/all.zip) at {snapshot} or point NICHEFLOW_AUDIT_DB at it, or set NICHEFLOW_AUDIT_OSV_URL "
            "to an OSV mirror; NICHEFLOW_AUDIT_REQUIRED=1 makes this a failure.",
            flush=True,
        )
        return 2 if os.environ.get("NICHEFLOW_AUDIT_REQUIRED") == "1" else 0
    advisories = Advisories(snapshot)
    print(
        f"dependency audit: {lock.name} against {len(advisories)} PyPI advisories of the OSV snapshot "
        f"{snapshot} (newest modified {advisories.newest or 'unknown'}), offline",
        flush=True,
    )
    with osv_endpoint(advisories) as url:
        code = pip_audit(url, lock)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
