"""Where alerts land in tests: a real SMTP server (aiosmtpd, with a login) and a real HTTP receiver for
Slack-compatible webhooks, both on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import free_port


@dataclass
class Mail:
    sender: str
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("html", "plain"))
        return body.get_content() if body is not None else ""


@dataclass
class SmtpServer:
    port: int
    user: str
    password: str
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    def conn_json(self, from_email: str = "nicheflow@example.org") -> str:
        """The Airflow connection (AIRFLOW_CONN_...) for this server: plain SMTP with a login, no TLS."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": self.user,
                "password": self.password,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": from_email, "timeout": 10},
            }
        )

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]


@contextmanager
def smtp_server(user: str = "alerts", password: str = "smtp-s3cret-pw") -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer(free_port(), user, password)

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg))
            return "250 OK"

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (
            user,
            password,
        )
        if ok:
            server.logins.append(user)
        return AuthResult(success=ok)

    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)  # loopback only
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=server.port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    port: int
    token: str
    posts: list[dict] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/{self.token}"

    def conn_json(self) -> str:
        return json.dumps({"conn_type": "generic", "password": self.url})


@contextmanager
def webhook_receiver(token: str = "xoxb-hook-T0KEN-9f3a") -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(free_port(), token)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith(receiver.token) and receiver.status == 200:
                receiver.posts.append(json.loads(body))
            self.send_response(receiver.status if self.path.endswith(receiver.token) else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
