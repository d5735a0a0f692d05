"""An S3-compatible server on loopback for tests: moto's server mode (ThreadedMotoServer), reached through
s3fs exactly as production reaches AWS S3 or MinIO, and the environment that points nicheflow at it.

    with MotoS3() as s3:                        # a server on 127.0.0.1:<free port>
        env = s3.storage_env("nicheflow")       # a fresh bucket; NICHEFLOW_STORAGE_URL + AIRFLOW_CONN_<ID>
        os.environ.update(env)                  # or pass env to each worker process

`storage_env` is everything a worker needs besides its own NICHEFLOW_DATA_DIR: give two workers the same env
and different data folders and they share one production storage."""

from __future__ import annotations

import json
from types import TracebackType

from tests.helpers import free_port

CONN_ID = "nicheflow_s3"
KEY, SECRET = "test-access-key", "test-secret-key"  # moto takes any


class MotoS3:
    """moto's S3 server on loopback (see the module's note); `endpoint` is its URL."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def __enter__(self) -> MotoS3:
        self._server.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.stop()

    def connection(self) -> str:
        """The Airflow `aws` connection to this server, as AIRFLOW_CONN_<ID> holds it (JSON)."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": KEY,
                "password": SECRET,
                "extra": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            }
        )

    def storage_env(self, bucket: str, prefix: str = "nicheflow", conn_id: str = CONN_ID) -> dict[str, str]:
        """Make `bucket` (empty) and return the environment that makes it the production storage."""
        import s3fs

        fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=self.endpoint, skip_instance_cache=True)
        if fs.exists(bucket):
            fs.rm(bucket, recursive=True)
        fs.mkdir(bucket)
        return {
            "NICHEFLOW_STORAGE_URL": f"s3://{conn_id}@{bucket}/{prefix}",
            f"AIRFLOW_CONN_{conn_id.upper()}": self.connection(),
        }
