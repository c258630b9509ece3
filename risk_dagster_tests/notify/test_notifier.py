"""Notifier against a webhook server and a tiny SMTP server, both on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from risk_dagster.defs.resources import NotifierResource
from risk_dagster.notify import Notifier


class WebhookServer(ThreadingHTTPServer):
    """Records each POSTed JSON body and answers with ``self.status``."""

    def __init__(self):
        self.status = 200
        self.posts: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append(json.loads(raw))
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT; else 250) to record mail."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.mails: list[dict] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

            def handle(self):
                mail: dict = {"rcpt": []}
                self.reply("220 localhost test SMTP")
                while line := self.rfile.readline(65536):
                    command = line.decode().rstrip("\r\n")
                    verb = command[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-localhost\r\n250 AUTH PLAIN")
                    elif verb == "AUTH":
                        mail["auth"] = base64.b64decode(command.split()[2]).split(b"\0")[1:]
                        self.reply("235 ok")
                    elif verb == "MAIL":
                        mail["from"] = command[10:]
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        mail["rcpt"].append(command[8:])
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        mail["data"] = self.read_data()
                        outer.mails.append(mail)
                        mail = {"rcpt": []}
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, RSET, NOOP
                        self.reply("250 ok")

            def read_data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline(65536)) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

        super().__init__(("127.0.0.1", 0), Handler)


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def webhook(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield from _serve(WebhookServer())


@pytest.fixture
def smtp():
    yield from _serve(SmtpServer())


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/SECRETPATH"


def _free_port() -> int:
    with socket.socket() as sock:  # free a moment ago, so nothing listens there now
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _notifier(webhook=None, smtp=None, **kw) -> Notifier:
    email = {}
    if smtp is not None:
        email = dict(
            smtp_host="127.0.0.1",
            smtp_port=smtp.server_address[1],
            smtp_from="risk@firm.test",
            smtp_to=["desk@firm.test", "cro@firm.test"],
        )
    return Notifier(enabled=True, webhook_url=_url(webhook) if webhook else None, **email, **kw)


def test_webhook_and_email_are_sent(webhook, smtp):
    result = _notifier(webhook, smtp).notify("Halt ACC1", "P(large loss) = 0.42 > 0.30")
    statuses = [(c.channel, c.status) for c in result.channels]
    assert statuses == [("webhook", "sent"), ("email", "sent")]
    assert webhook.posts == [{"text": "*Halt ACC1*\nP(large loss) = 0.42 > 0.30"}]
    [mail] = smtp.mails
    assert mail["from"] == "<risk@firm.test>"
    assert mail["rcpt"] == ["<desk@firm.test>", "<cro@firm.test>"]
    assert "auth" not in mail
    message = message_from_bytes(mail["data"])
    assert message["Subject"] == "Halt ACC1"
    assert message["To"] == "desk@firm.test, cro@firm.test"
    assert message.get_payload(decode=True).decode().strip() == "P(large loss) = 0.42 > 0.30"


def test_smtp_login_uses_env_vars(smtp, monkeypatch):
    monkeypatch.setenv("TEST_SMTP_USER", "robot")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "pw")
    notifier = _notifier(
        smtp=smtp, smtp_user_env_var="TEST_SMTP_USER", smtp_password_env_var="TEST_SMTP_PASSWORD"
    )
    assert notifier.notify("s", "b").status("email") == "sent"
    assert smtp.mails[0]["auth"] == [b"robot", b"pw"]


def test_missing_login_env_var_fails_without_raising(smtp, monkeypatch):
    monkeypatch.delenv("TEST_SMTP_USER", raising=False)
    result = _notifier(smtp=smtp, smtp_user_env_var="TEST_SMTP_USER").notify("s", "b")
    assert result.status("email") == "failed"
    assert "TEST_SMTP_USER is not set" in result.failures[0].detail
    assert smtp.mails == []


def test_disabled_sends_nothing_even_when_always(webhook, smtp):
    notifier = _notifier(webhook, smtp).model_copy(update={"enabled": False})
    result = notifier.notify("Kill switch", "halt all", always=True)
    assert [c.status for c in result.channels] == ["skipped", "skipped"]
    assert result.channels[0].detail == "notifications disabled"
    assert webhook.posts == [] and smtp.mails == []


def test_default_notifier_is_off():
    result = Notifier().notify("s", "b", always=True)
    assert not result.any_sent
    assert {c.status for c in result.channels} == {"skipped"}


def test_urgent_only_sends_only_always(webhook):
    notifier = _notifier(webhook, urgent_only=True)
    assert notifier.notify("daily", "all normal").status("webhook") == "skipped"
    assert notifier.notify("Kill switch", "halt ACC1", always=True).status("webhook") == "sent"
    assert webhook.posts == [{"text": "*Kill switch*\nhalt ACC1"}]


def test_webhook_500_is_failed_not_raised(webhook, caplog):
    webhook.status = 500
    result = _notifier(webhook).notify("s", "b")
    assert result.status("webhook") == "failed"
    assert result.status("email") == "skipped"
    assert "HTTP 500" in result.failures[0].detail
    assert "notification via webhook failed" in caplog.text


def test_unreachable_smtp_is_failed_not_raised(webhook, caplog):
    notifier = Notifier(
        enabled=True,
        webhook_url=_url(webhook),
        smtp_host="127.0.0.1",
        smtp_port=_free_port(),
        smtp_from="risk@firm.test",
        smtp_to=["desk@firm.test"],
        timeout_s=2,
    )
    result = notifier.notify("s", "b")
    assert result.status("email") == "failed"
    assert "ConnectionRefusedError" in result.failures[0].detail
    assert result.status("webhook") == "sent"  # one broken channel does not block the other


def test_unreachable_webhook_error_hides_the_secret_path(caplog):
    notifier = Notifier(
        enabled=True, webhook_url=f"http://127.0.0.1:{_free_port()}/hooks/SECRETPATH", timeout_s=2
    )
    result = notifier.notify("s", "b")
    assert result.status("webhook") == "failed"
    assert "SECRETPATH" not in result.failures[0].detail
    assert "SECRETPATH" not in caplog.text


def test_email_without_recipients_fails_clearly(smtp):
    notifier = _notifier(smtp=smtp).model_copy(update={"smtp_to": []})
    result = notifier.notify("s", "b")
    assert result.status("email") == "failed"
    assert "smtp_to" in result.failures[0].detail


def test_notifier_as_dagster_resource(webhook, smtp):
    import dagster as dg

    @dg.asset
    def alert(notifier: NotifierResource) -> list[str]:
        return [c.status for c in notifier.notify("Kill switch", "halt", always=True).channels]

    resource = NotifierResource(**_notifier(webhook, smtp).model_dump())
    result = dg.materialize([alert], resources={"notifier": resource})
    assert result.output_for_node("alert") == ["sent", "sent"]
    assert webhook.posts == [{"text": "*Kill switch*\nhalt"}] and len(smtp.mails) == 1
