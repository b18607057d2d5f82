"""Talking to the mail server: smtp://, smtps:// and smtp+starttls:// URLs, one connection per batch."""
from __future__ import annotations

import contextlib
import smtplib
import ssl
from urllib.parse import unquote, urlsplit

from flask import current_app


class SmtpUnavailable(Exception):
    """Could not connect, or the server refused before the message was handed over."""


def smtp_connect(url: str) -> smtplib.SMTP:
    """A logged-in connection for smtp://, smtps:// or smtp+starttls:// URLs. TLS verifies the
    server's certificate (against SMTP_CA_FILE when set, else the system's trust store)."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=current_app.config.get("SMTP_CA_FILE") or None)
    scheme = parts.scheme
    port = parts.port or {"smtps": 465, "smtp+starttls": 587}.get(scheme, 25)
    host = parts.hostname or "localhost"
    try:
        if scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port, timeout=15, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=15)
            if scheme == "smtp+starttls":
                smtp.starttls(context=context)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        raise SmtpUnavailable(f"{type(error).__name__}: {error}") from error
    return smtp


class BatchConnection:
    """The connection a batch's messages share: opened for the first message, opened again after
    one broke off (its message may have arrived; the next needs a connection it can trust), and
    closed when the batch is done. The handshake, TLS and login are paid once a batch, not once a
    message."""

    def __init__(self, url: str, factory=None) -> None:
        self.url, self.factory, self.smtp = url, factory or smtp_connect, None

    def open(self) -> smtplib.SMTP:
        """The batch's connection (SmtpUnavailable when it cannot be had)."""
        if self.smtp is None:
            self.smtp = self.factory(self.url)
        return self.smtp

    def discard(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self.smtp = None

    def __enter__(self) -> BatchConnection:
        return self

    def __exit__(self, *_) -> None:
        self.discard()
