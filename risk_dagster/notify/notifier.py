"""Send short risk notifications to a Slack-compatible webhook and/or by email.

Notifications are off by default. A failed channel is logged and reported in the returned
``NotifyResult``; ``notify`` never raises, so a broken mail server cannot fail a pipeline run.

Quieter setting: with ``urgent_only=True`` only calls made with ``always=True`` (kill-switch
events, halts) are sent; routine messages are skipped. ``always=True`` never sends anything
when notifications are disabled.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

Status = Literal["sent", "failed", "skipped"]


@dataclass(frozen=True)
class ChannelResult:
    """What happened on one channel (``webhook`` or ``email``); ``detail`` says why if not sent."""

    channel: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class NotifyResult:
    """Per-channel outcome of one ``notify`` call."""

    channels: tuple[ChannelResult, ...]

    def status(self, channel: str) -> Status:
        return next(c.status for c in self.channels if c.channel == channel)

    @property
    def any_sent(self) -> bool:
        return any(c.status == "sent" for c in self.channels)

    @property
    def failures(self) -> tuple[ChannelResult, ...]:
        return tuple(c for c in self.channels if c.status == "failed")


def send_webhook(url: str, text: str, timeout_s: float) -> None:
    """POST ``{"text": text}`` as JSON to ``url``; raise on a connection error or HTTP >= 400."""
    response = requests.post(url, json={"text": text}, timeout=timeout_s)
    if response.status_code >= 400:
        raise RuntimeError(f"webhook HTTP {response.status_code}: {response.text[:200]!r}")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send email. ``user``/``password`` None means no login."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10


def send_email(smtp: SmtpSettings, subject: str, body: str) -> None:
    """Send one plain-text email; raise on any SMTP or socket error."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user is not None:
            client.login(smtp.user, smtp.password or "")
        client.send_message(message)


def _redact(text: str, url: str) -> str:
    # A Slack webhook URL is a secret (its path is the credential): keep it out of logs.
    path = urlsplit(url).path
    text = text.replace(url, "<webhook>")
    return text.replace(path, "/<redacted>") if len(path) > 1 else text


def _env(name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


class Notifier(BaseModel):
    """Sends notifications (see the module docstring); ``defs.resources.NotifierResource`` is
    its Dagster resource.

    enabled: master switch, off by default. urgent_only: send only ``always=True`` calls.
    webhook_url: Slack-compatible incoming webhook (use ``dg.EnvVar`` to keep it out of config).
    smtp_*: email; login only when ``smtp_user_env_var`` is set (password from
    ``smtp_password_env_var``). timeout_s: seconds per network operation.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool = False
    urgent_only: bool = False
    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_to: list[str] = []
    smtp_user_env_var: str | None = None
    smtp_password_env_var: str | None = None
    smtp_starttls: bool = False
    timeout_s: float = 10

    def notify(self, subject: str, body: str, *, always: bool = False) -> NotifyResult:
        """Send ``subject``/``body`` on every configured channel; never raises.

        always=True: send whenever notifications are enabled, even when ``urgent_only`` would skip.
        Returns the per-channel outcome (sent / failed with the error / skipped with the reason).
        """
        if not self.enabled:
            reason = "notifications disabled"
        elif self.urgent_only and not always:
            reason = "urgent_only and not always"
        else:
            reason = ""
        results = (
            self._run("webhook", reason, self.webhook_url, lambda: self._webhook(subject, body)),
            self._run("email", reason, self.smtp_host, lambda: self._email(subject, body)),
        )
        return NotifyResult(results)

    def _run(self, channel: str, reason: str, configured: str | None, send) -> ChannelResult:
        if reason or not configured:
            return ChannelResult(channel, "skipped", reason or "not configured")
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - a notification must never fail the caller
            detail = f"{type(exc).__name__}: {exc}"
            if self.webhook_url:
                detail = _redact(detail, self.webhook_url)
            log.warning("notification via %s failed: %s", channel, detail)
            return ChannelResult(channel, "failed", detail)
        log.info("notification sent via %s", channel)
        return ChannelResult(channel, "sent")

    def _webhook(self, subject: str, body: str) -> None:
        send_webhook(self.webhook_url or "", f"*{subject}*\n{body}", self.timeout_s)

    def _email(self, subject: str, body: str) -> None:
        if not self.smtp_from or not self.smtp_to:
            raise ValueError("smtp_from and smtp_to must be set to send email")
        smtp = SmtpSettings(
            host=self.smtp_host or "",
            port=self.smtp_port,
            sender=self.smtp_from,
            recipients=tuple(self.smtp_to),
            user=_env(self.smtp_user_env_var),
            password=_env(self.smtp_password_env_var),
            starttls=self.smtp_starttls,
            timeout_s=self.timeout_s,
        )
        send_email(smtp, subject, body)
