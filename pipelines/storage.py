"""Where production files live: the local data folder (the default) or an S3-compatible bucket.

`NICHEFLOW_STORAGE_URL` chooses:
- unset, or `file://` — the data folder (NICHEFLOW_DATA_DIR), exactly as before; `file:///srv/nicheflow`
  — another folder, e.g. a volume every machine mounts.
- `s3://<connection id>@<bucket>/<prefix>` — a bucket of AWS S3, MinIO, moto or any S3-compatible store.
  The endpoint and keys are the Airflow connection's, in the Amazon provider's `aws` conventions: keys from
  login/password or the extras `aws_access_key_id`/`aws_secret_access_key` (and `aws_session_token`), the
  endpoint from the extra `endpoint_url` (or `service_config.s3.endpoint_url`), the region from
  `region_name`. Without keys, boto's own chain applies (an instance role). `s3://bucket/prefix` means the
  connection `aws_default`.

Files are named by a key, a relative POSIX path such as
`channels/<channel>/productions/00042-<slug>/audio/r1/narration.wav`, the same in every backend (locally it
is the path under the folder). A file is visible under its key only once complete: locally by the atomic
writes of pipelines.files, in a bucket because a PUT (or a multipart upload's completion) is atomic.

pipelines/ never imports Airflow (the CLI and the tests run without it), so this module does not use
Airflow's ObjectStoragePath: it talks to the bucket with s3fs and reads the connection from the
environment variable `AIRFLOW_CONN_<ID>` (JSON or URI, the forms Airflow itself reads). The task and the
Review page export it from Airflow's connections (nicheflow_airflow.credentials.export_storage_connection),
or an operator sets it on every machine. Keys are never logged: `Storage.url` and `where` show none."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from pipelines.errors import PermanentError
from pipelines.files import atomic_output, atomic_write_bytes, link_or_copy
from pipelines.paths import data_dir

log = logging.getLogger(__name__)
ENV = "NICHEFLOW_STORAGE_URL"
DEFAULT_CONNECTION = "aws_default"


class StorageConfigError(PermanentError, ValueError):
    """NICHEFLOW_STORAGE_URL or its connection is not usable; the message says what to set."""


def check_key(key: str) -> str:
    """`key` if it is a relative POSIX path that stays inside the storage (no `..`, no leading `/`, no
    backslash); else ValueError."""
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or "\\" in key or ".." in parts or "." in parts:
        raise ValueError(f"{key!r} is not a storage key (a relative path without '..')")
    return key


class Storage(Protocol):
    """Files under keys. `local_root` is the folder the keys are paths under when the storage is a local
    (or mounted) folder, None for a bucket: workspaces then stage files into scratch."""

    @property
    def url(self) -> str:
        """Where, for people and logs: a folder or s3://bucket/prefix (never a key)."""
        ...

    @property
    def local_root(self) -> Path | None:
        """The folder keys are paths under; None for a bucket."""
        ...

    def where(self, key: str) -> str:
        """The file's location for people: a path, or s3://bucket/prefix/key."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a complete file is stored under `key`."""
        ...

    def get(self, key: str, dest: Path) -> bool:
        """Copy the file to `dest` (whole or not at all); False when there is none."""
        ...

    def put(self, src: Path, key: str) -> None:
        """Store the local file `src` under `key`; the key shows the whole file or its earlier one."""
        ...

    def put_many(self, pairs: list[tuple[Path, str]]) -> None:
        """`put` each (local file, key), several at a time where the backend can."""
        ...

    def read_bytes(self, key: str) -> bytes | None:
        """The file's bytes, or None when there is none."""
        ...

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, whole or not at all."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The keys of the complete files under the folder `prefix`, sorted."""
        ...

    def version(self, key: str) -> str | None:
        """Something that changes when the file does (size and ETag or mtime), or None when there is none."""
        ...


@dataclass
class LocalStorage:
    """A folder: the data folder by default, or one every machine mounts (`file:///path`)."""

    root: Path

    @property
    def url(self) -> str:
        return str(self.root)

    @property
    def local_root(self) -> Path:
        return self.root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def where(self, key: str) -> str:
        return str(self.path(key))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str, dest: Path) -> bool:
        src = self.path(key)
        if not src.is_file():
            return False
        link_or_copy(src, dest)
        return True

    def put(self, src: Path, key: str) -> None:
        if Path(src).resolve() != self.path(key).resolve():
            link_or_copy(src, self.path(key))  # same disk: no copy of a large video

    def put_many(self, pairs: list[tuple[Path, str]]) -> None:
        for src, key in pairs:
            self.put(src, key)

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.path(key), data)

    def list(self, prefix: str) -> list[str]:
        base = self.path(prefix)
        return sorted(
            str(f.relative_to(self.root).as_posix())
            for f in base.rglob("*")
            if f.is_file() and not (f.name.startswith(".") and f.name.endswith(".tmp"))
        )

    def version(self, key: str) -> str | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        return f"{st.st_size}-{st.st_mtime_ns}"


@dataclass(frozen=True)
class S3Settings:
    """What reaching a bucket takes, from an Airflow `aws` connection (repr shows no keys)."""

    conn_id: str
    endpoint_url: str | None = None
    key: str | None = None
    secret: str | None = None
    token: str | None = None
    region: str | None = None

    def __repr__(self) -> str:
        return f"S3Settings(conn_id={self.conn_id!r}, endpoint_url={self.endpoint_url!r})"


def connection_env(conn_id: str) -> str:
    """The environment variable Airflow (and this module) reads a connection from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _connection(conn_id: str) -> dict[str, Any] | None:
    """The connection `conn_id` from AIRFLOW_CONN_<ID>, as a dict (conn_type, login, password, host, extra),
    from its JSON or URI form; None when the variable is not set."""
    raw = os.environ.get(connection_env(conn_id), "").strip()
    if not raw:
        return None
    if raw.startswith("{"):
        data = json.loads(raw)
        extra = data.get("extra") or {}
        data["extra"] = json.loads(extra) if isinstance(extra, str) else extra
        return data
    u = urlsplit(raw)
    query = dict(parse_qsl(u.query, keep_blank_values=True))
    params: dict[str, Any] = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return {
        "conn_type": u.scheme.replace("-", "_"),
        "login": unquote(u.username) if u.username else None,
        "password": unquote(u.password) if u.password else None,
        "host": unquote(u.hostname or "") or None,
        "extra": params,
    }


def s3_settings(conn_id: str, required: bool = True) -> S3Settings:
    """How to reach the bucket with the connection `conn_id` (see the module's note). A connection named in
    the URL but not exported is a StorageConfigError saying what to set; `aws_default` may be absent
    (boto's chain: instance role, ~/.aws)."""
    conn = _connection(conn_id)
    if conn is None:
        if required:
            raise StorageConfigError(
                f"{ENV} names the connection {conn_id!r}, but {connection_env(conn_id)} is not set: add the "
                f"connection in Airflow (type aws, extra endpoint_url for MinIO or another S3-compatible "
                f"store) or set {connection_env(conn_id)} on every machine"
            )
        return S3Settings(conn_id)
    extra = conn.get("extra") or {}
    service = (extra.get("service_config") or {}).get("s3") or {}
    return S3Settings(
        conn_id=conn_id,
        endpoint_url=service.get("endpoint_url") or extra.get("endpoint_url") or None,
        key=conn.get("login") or extra.get("aws_access_key_id") or None,
        secret=conn.get("password") or extra.get("aws_secret_access_key") or None,
        token=extra.get("aws_session_token") or None,
        region=extra.get("region_name") or None,
    )


class S3Storage:
    """A bucket and prefix, through s3fs (a PUT, or a multipart upload's completion, makes a key visible
    whole)."""

    @property
    def local_root(self) -> None:
        return None

    def __init__(self, bucket: str, prefix: str, settings: S3Settings):
        import s3fs  # heavy: only when a bucket is configured

        self.bucket, self.prefix, self.settings = bucket, prefix.strip("/"), settings
        self.url = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self.fs = s3fs.S3FileSystem(
            key=settings.key,
            secret=settings.secret,
            token=settings.token,
            endpoint_url=settings.endpoint_url,
            client_kwargs={"region_name": settings.region} if settings.region else {},
            use_listings_cache=False,  # another worker writes the same keys
        )

    def _p(self, key: str) -> str:
        return "/".join(x for x in (self.bucket, self.prefix, check_key(key)) if x)

    def where(self, key: str) -> str:
        return f"s3://{self._p(key)}"

    def exists(self, key: str) -> bool:
        return self.version(key) is not None

    def get(self, key: str, dest: Path) -> bool:
        try:
            with atomic_output(dest) as tmp:
                self.fs.get_file(self._p(key), str(tmp))
        except FileNotFoundError:
            return False
        return True

    def put(self, src: Path, key: str) -> None:
        self.fs.put_file(str(src), self._p(key))

    def put_many(self, pairs: list[tuple[Path, str]]) -> None:
        if pairs:
            self.fs.put([str(s) for s, _ in pairs], [self._p(k) for _, k in pairs])

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.fs.cat_file(self._p(key))
        except FileNotFoundError:
            return None

    def write_bytes(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(self._p(key), data)

    def list(self, prefix: str) -> list[str]:
        base = "/".join(x for x in (self.bucket, self.prefix) if x) + "/"
        try:
            found = self.fs.find(self._p(prefix))
        except FileNotFoundError:
            return []
        return sorted(f.removeprefix(base) for f in found)

    def version(self, key: str) -> str | None:
        try:
            info = self.fs.info(self._p(key), refresh=True)
        except FileNotFoundError:
            return None
        if info.get("type") != "file":
            return None
        return f"{info.get('size')}-{info.get('ETag') or info.get('LastModified')}"


def from_url(url: str | None) -> Storage:
    """The storage a NICHEFLOW_STORAGE_URL value names (see the module's note)."""
    url = (url or "").strip()
    if not url or url == "file://":
        return LocalStorage(data_dir())
    u = urlsplit(url)
    if u.scheme == "file":
        return LocalStorage(Path(unquote(u.path)).resolve())
    if u.scheme == "s3":
        conn_id, _, bucket = u.netloc.rpartition("@")
        if not bucket:
            raise StorageConfigError(
                f"{ENV}={url!r} names no bucket: use s3://<connection id>@<bucket>/<prefix>"
            )
        return S3Storage(bucket, u.path, s3_settings(conn_id or DEFAULT_CONNECTION, required=bool(conn_id)))
    raise StorageConfigError(
        f"{ENV}={url!r}: use file:///<folder> (or leave it unset: the data folder) or "
        "s3://<connection id>@<bucket>/<prefix>"
    )


def get() -> Storage:
    """The storage NICHEFLOW_STORAGE_URL names now (the data folder when unset)."""
    return from_url(os.environ.get(ENV))


def conn_id_of(url: str | None) -> str | None:
    """The Airflow connection a storage URL reads its endpoint and keys from (None: a folder)."""
    u = urlsplit((url or "").strip())
    if u.scheme != "s3":
        return None
    return u.netloc.rpartition("@")[0] or DEFAULT_CONNECTION


def cached(store: Storage, key: str) -> Path | None:
    """The file under `key` as a local path to serve (the Review page's media): the file itself for a
    folder; for a bucket a copy in this machine's cache (data folder/cache/storage), fetched again when the
    stored file changed. None when there is no such file."""
    if store.local_root is not None:
        path = store.local_root / check_key(key)
        return path if path.is_file() else None
    version = store.version(key)
    if version is None:
        return None
    path = data_dir() / "cache" / "storage" / check_key(key)
    stamp = path.with_name(f".{path.name}.version")
    if path.is_file() and stamp.is_file() and stamp.read_text() == version:
        return path
    if not store.get(key, path):
        return None
    atomic_write_bytes(stamp, version.encode())
    return path
