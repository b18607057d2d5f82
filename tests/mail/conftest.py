"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail tests, and helpers to read what arrived."""
from __future__ import annotations

import email
import socket
import threading
from email import policy

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the server received: (envelope recipients, parsed message)."""

    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def messages(self, to: str | None = None) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.received if to is None or to in rcpt]


@pytest.fixture
def smtp_server(app):
    """An SMTP server on a free loopback port; the app's SMTP_URL points at it for the test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    old = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    inbox.url = app.config["SMTP_URL"]
    try:
        yield inbox
    finally:
        app.config["SMTP_URL"] = old
        controller.stop()


def parts(message) -> dict[str, str]:
    """content type -> decoded text of each leaf part."""
    found = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def whole_text(message) -> str:
    return str(message["Subject"]) + "\n" + "\n".join(parts(message).values())


@pytest.fixture(autouse=True)
def _emptied_afterwards(request, database_url):
    """Delivery commits step by step; on SQLite such a commit can escape the test's rolled-back
    transaction, so there the tables are emptied afterwards too (as the dispatcher's tests do).
    PostgreSQL keeps them inside the test's transaction, and a TRUNCATE per test is slow there."""
    if database_url.startswith("sqlite"):
        request.getfixturevalue("committed_db")
    yield
