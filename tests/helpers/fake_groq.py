"""A local stand-in for Groq's OpenAI-compatible API, for tests that drive the real `groq` SDK.

The SDK, given base_url="http://127.0.0.1:PORT", posts to PORT/openai/v1/chat/completions. Each
request takes the next scripted reply from `replies` (status, headers, body); a dict body is sent as
JSON, a str/bytes body as is. Every request is recorded (time, path, headers, JSON body) in `requests`.
When the script runs out the server answers 418, which the SDK does not retry, so a test that makes
more calls than it planned fails loudly instead of hanging."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/openai/v1/chat/completions"
Reply = tuple[int, dict[str, str], object]


@dataclass
class Request:
    time: float  # time.monotonic() when it arrived
    path: str
    headers: dict[str, str]  # lower-case names
    json: dict | None

    @property
    def messages(self) -> list[dict]:
        return (self.json or {}).get("messages", [])


@dataclass
class FakeGroq:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    model: str = "llama-3.3-70b-versatile"

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                fake._handle(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGroq:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting ----------------------------------------------------------------------------------
    def add(self, status: int, body: object, headers: dict[str, str] | None = None) -> FakeGroq:
        self.replies.append((status, headers or {}, body))
        return self

    def add_completion(
        self,
        content: str,
        *,
        prompt_tokens: int = 1200,
        completion_tokens: int = 400,
        finish_reason: str = "stop",
    ) -> FakeGroq:
        """A 200 chat.completion whose message content is `content` (e.g. a JSON script, or not)."""
        return self.add(
            200,
            self.completion(
                content,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                finish_reason=finish_reason,
            ),
        )

    def add_error(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra,
    ) -> FakeGroq:
        """An error in Groq's shape: {"error": {"message", "type", "code"?, ...}}."""
        err = {"message": message, "type": type, **({"code": code} if code else {}), **extra}
        return self.add(status, {"error": err}, headers)

    def completion(
        self, content: str, *, prompt_tokens: int, completion_tokens: int, finish_reason: str = "stop"
    ) -> dict:
        n = next(self._ids)
        return {
            "id": f"chatcmpl-fake-{n:04d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "queue_time": 0.01,
                "prompt_tokens": prompt_tokens,
                "prompt_time": 0.02,
                "completion_tokens": completion_tokens,
                "completion_time": 0.3,
                "total_tokens": prompt_tokens + completion_tokens,
                "total_time": 0.32,
            },
            "system_fingerprint": "fp_fake",
            "x_groq": {"id": f"req_fake_{n:04d}"},
        }

    # -- serving ------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(
                Request(time.monotonic(), h.path, {k.lower(): v for k, v in h.headers.items()}, body)
            )
            if h.command != "POST" or h.path != PATH:
                status, headers, out = (
                    404,
                    {},
                    {
                        "error": {
                            "message": f"Unknown request URL: {h.command} {h.path}",
                            "type": "invalid_request_error",
                            "code": "unknown_url",
                        }
                    },
                )
            elif self.replies:
                status, headers, out = self.replies.popleft()
            else:
                status, headers, out = (
                    418,
                    {},
                    {"error": {"message": "fake_groq: no scripted reply left", "type": "fake_error"}},
                )
        data = (
            out
            if isinstance(out, bytes)
            else (out.encode() if isinstance(out, str) else json.dumps(out).encode())
        )
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(data)))
        h.send_header("x-request-id", f"req_fake_{len(self.requests):04d}")
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
