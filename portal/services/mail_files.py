"""Mail without a mail server (no SMTP_URL, as under `make run`): each message as it would have
gone out, in a file under the instance folder and, outside production, on the console."""
from __future__ import annotations

import os
import sys
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from portal import clock
from portal.models import Outbox


def mail_folder() -> Path:
    return Path(current_app.instance_path) / "mail"


def mail_to_instance_folder(row: Outbox, message: EmailMessage) -> Path:
    """Without a mail server, the message as it would have gone out is written to
    `<instance>/mail/<time>-<row id>.eml` (readable by the portal's own user only) and, outside
    production, printed to the console, so whoever runs the portal can open its links. The
    console copy is written to stderr, not logged: no log handler or error report keeps a link."""
    folder = mail_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{clock.now():%Y%m%dT%H%M%S}-{row.id}.eml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(message.as_bytes())
    if current_app.config.get("ENV_NAME") != "production":
        text = message.get_body(preferencelist=("plain",))
        sys.stderr.write(f"\n----- e-mail (no SMTP_URL: not sent; also in {path}) -----\n"
                         f"To: {message['To']}\nSubject: {message['Subject']}\n\n"
                         f"{text.get_content() if text is not None else ''}\n----- end of e-mail -----\n")
    return path
