"""Delivering the outbox: claim, render, hand to SMTP, record. Runs in jobs, never in a request.

Exactly once: a row is claimed by one UPDATE (pending -> sending, with a lease) that only one
deliverer can win, and committed. Just before the message goes to the SMTP server the row is
marked `handed_over_at` and committed again. A deliverer that dies before that point leaves a row
that is safely tried again once its lease runs out; one that dies after it may have sent the
message, so the row becomes `failed` ("may have arrived") and is only resent when ops ask for it.
A failed try before hand-over (server down, refused) is retried with backoff, OUTBOX_MAX_TRIES in all.

Each try renders the message afresh, so an account link is made when its message is delivered
(and a retry makes a new one). The row keeps a copy with a note in place of such links: the
outbox never holds a working secret. Without SMTP_URL the message goes to the instance folder
(and the console) instead of a mail server.

Unlike most services these functions COMMIT (one short transaction per step), and they are called
from jobs only (portal.jobs.tasks.deliver_outbox_job, the in-process scheduler)."""
from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app, render_template

from portal import clock
from portal.domain.zones import zone_of
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import Outbox, User
from portal.models.transactions import commit_as_written
from portal.services.audit import audit_record
from portal.services.mail_context import MailContent, MailObsolete, absolute_url, build, local_text
from portal.services.mail_files import mail_to_instance_folder

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# Rows claimed in one transaction. Their leases run while they go out one after another, each
# with its own SMTP connection (at most about 30 s with the 15 s timeouts): well inside LEASE.
CLAIM_BATCH = 5
INTERRUPTED_AFTER_HANDOVER = ("Interrupted after it was handed to the mail server: it may have arrived, so it "
                              "is not resent on its own. Retry it if the recipient did not get it.")
INTERRUPTED_BEFORE_HANDOVER = "The deliverer stopped before sending; tried again."


class SmtpUnavailable(Exception):
    """Could not connect, or the server refused before the message was handed over."""


# -- rendering -------------------------------------------------------------------------------------

LINK_NOT_KEPT = "[a personal link was sent to the recipient; it is not kept here]"


class _Withheld:
    """Stands in for a secret context value (MailContent.secret_names) in the copy the outbox keeps."""

    def __str__(self) -> str:
        return LINK_NOT_KEPT


def _template_context(content: MailContent, recipient: User, link) -> dict:
    return {**content.context, "recipient": recipient, "portal_url": current_app.config["PORTAL_BASE_URL"],
            "link": link, "local": lambda dt: local_text(dt, recipient), "zone": zone_of(recipient).key}


def _render_pair(template: str, context: dict) -> tuple[str, str]:
    return render_template(f"mail/{template}.txt", **context), render_template(f"mail/{template}.html", **context)


def render(row: Outbox, recipient: User) -> tuple[MailContent, str, str]:
    """(content, text body, HTML body) of the row's message for its recipient, as of now."""
    content = build(row.template, recipient=recipient, about=row.about or {})
    text, html = _render_pair(row.template, _template_context(content, recipient, absolute_url))
    return content, text, html


def render_kept_copy(row: Outbox, recipient: User, content: MailContent) -> tuple[str, str]:
    """(text, HTML) of the copy the outbox keeps: as delivered, with a note in place of every
    secret value and of every link that carries one, so no working link is stored."""
    withheld = _Withheld()

    def link(endpoint: str, **values) -> str:
        if any(value is withheld for value in values.values()):
            return LINK_NOT_KEPT
        return absolute_url(endpoint, **values)

    context = {**_template_context(content, recipient, link), **dict.fromkeys(content.secret_names, withheld)}
    text, html = _render_pair(row.template, context)
    for name in content.secret_names:
        secret = str(content.context[name])
        if secret in text or secret in html:
            raise RuntimeError(f"mail/{row.template} shows its secret {name!r} outside link()")
    return text, html


def compose(row: Outbox, recipient: User, content: MailContent, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    sender = current_app.config["MAIL_FROM"]
    message["From"] = sender
    message["To"] = formataddr((recipient.display_name, recipient.email))
    message["Subject"] = content.subject
    domain = parseaddr(sender)[1].rpartition("@")[2] or "clinic-portal"
    message["Message-ID"] = f"<outbox-{row.id}@{domain}>"  # stable: a resend is the same message
    message["Auto-Submitted"] = "auto-generated"
    for name, value in content.headers.items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in content.attachments:
        maintype, _, rest = attachment.content_type.partition("/")
        subtype, *params = [part.strip() for part in rest.split(";")]
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                               params=dict(p.split("=", 1) for p in params if "=" in p))
    return message


# -- SMTP ------------------------------------------------------------------------------------------

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


# -- the steps, each its own transaction -------------------------------------------------------------

def _claim(outbox_ids: list[uuid.UUID], now: datetime) -> list[Outbox]:
    """Those of the rows that are due, leased to this deliverer and committed so, in the order
    given: one transaction for a batch. A row not due, or another deliverer's, is left out."""
    rows = db.session.scalars(
        sa.update(Outbox).where(Outbox.id.in_(outbox_ids), Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .values(status="sending", lease_until=now + LEASE, tries=Outbox.tries + 1, handed_over_at=None)
        .returning(Outbox).execution_options(populate_existing=True)).all()
    commit_as_written()  # the leases are committed; the rows as leased are what the delivery reads
    for row in rows:  # and stay so while the batch's earlier messages commit their outcomes
        db.session.expunge(row)
    order = {outbox_id: index for index, outbox_id in enumerate(outbox_ids)}
    return sorted(rows, key=lambda row: order[row.id])


def _finish(outbox_id: uuid.UUID, **values) -> None:
    db.session.execute(sa.update(Outbox).where(Outbox.id == outbox_id, Outbox.status == "sending")
                       .values(lease_until=None, **values).execution_options(synchronize_session=False))
    db.session.commit()


def _backoff(tries: int) -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"] * 4 ** max(tries - 1, 0))


def _try_failed(row: Outbox, error: str, now: datetime) -> str:
    if row.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        _finish(row.id, status="failed", last_error=error[:500])
        log.warning("outbox %s failed for good after %s tries", row.id, row.tries)
        return "failed"
    _finish(row.id, status="pending", last_error=error[:500], next_attempt_at=now + _backoff(row.tries))
    log.info("outbox %s: try %s failed, retried later", row.id, row.tries)
    return "retry"


def _deliver_batches(outbox_ids: list[uuid.UUID], *, smtp_factory=None) -> list[str]:
    """Claim the rows CLAIM_BATCH at a time and deliver each claimed one; the outcomes of those
    claimed (a row not due, or another deliverer's, has none)."""
    outcomes = []
    for start in range(0, len(outbox_ids), CLAIM_BATCH):
        for row in _claim(outbox_ids[start:start + CLAIM_BATCH], clock.now()):
            outcomes.append(_deliver(row, smtp_factory=smtp_factory))
    return outcomes


def _deliver(row: Outbox, *, smtp_factory=None) -> str:
    """Deliver a row this deliverer has claimed; returns what happened: "sent", "kept", "retry",
    "failed" or "dropped"."""
    outbox_id, now = row.id, clock.now()
    recipient = db.session.get(User, row.recipient_id)
    try:
        content, text, html = render(row, recipient)
        kept_text, kept_html = render_kept_copy(row, recipient, content) if content.secret_names else (text, html)
    except MailObsolete as why:
        _finish(row.id, status="dropped", last_error=str(why)[:500])
        return "dropped"
    except Exception as error:  # noqa: BLE001 - a template or data bug: count the try, tell Sentry via the log
        db.session.rollback()
        log.exception("outbox %s could not be rendered", outbox_id)
        return _try_failed(row, f"Could not render the message ({type(error).__name__}).", now)
    rendered = {"subject": content.subject[:300], "body_text": kept_text, "body_html": kept_html,
                "sent_to": recipient.email}
    message = compose(row, recipient, content, text, html)
    url = current_app.config.get("SMTP_URL")
    if not url:
        try:
            mail_to_instance_folder(row, message)
        except OSError as error:
            return _try_failed(row, f"Could not write the message to the instance folder ({type(error).__name__}).",
                               now)
        _finish(row.id, status="kept", sent_at=now, **rendered)
        return "kept"
    try:
        smtp = (smtp_factory or smtp_connect)(url)
    except SmtpUnavailable as error:
        return _try_failed(row, str(error), now)
    try:
        db.session.execute(sa.update(Outbox).where(Outbox.id == row.id, Outbox.status == "sending")
                           .values(handed_over_at=clock.now()).execution_options(synchronize_session=False))
        db.session.commit()
        try:
            smtp.send_message(message, from_addr=parseaddr(current_app.config["MAIL_FROM"])[1],
                              to_addrs=[recipient.email])
        except smtplib.SMTPResponseException as error:  # the server answered no: it did not take it
            return _try_failed(row, f"The mail server refused it: {error.smtp_code}", now)
        except smtplib.SMTPRecipientsRefused:
            return _try_failed(row, "The mail server refused the recipient.", now)
        except (OSError, smtplib.SMTPException) as error:  # no answer: it may have arrived
            _finish(row.id, status="failed", last_error=f"{INTERRUPTED_AFTER_HANDOVER} ({type(error).__name__})")
            return "failed"
        _finish(row.id, status="sent", sent_at=clock.now(), last_error=None, **rendered)
        return "sent"
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()


def recover_interrupted(now: datetime | None = None) -> int:
    """Rows whose deliverer died (lease expired while `sending`): before hand-over they are tried
    again, after it they are failed for ops (never resent on their own). Returns how many."""
    now = now or clock.now()
    stale = sa.and_(Outbox.status == "sending", Outbox.lease_until < now)
    if db.session.execute(sa.select(Outbox.id).where(stale).limit(1)).first() is None:
        db.session.commit()  # nothing to do: stay a reader (SQLite: no write every few seconds)
        return 0
    after = db.session.execute(sa.update(Outbox).where(stale, Outbox.handed_over_at.is_not(None))
                               .values(status="failed", lease_until=None, last_error=INTERRUPTED_AFTER_HANDOVER)
                               .execution_options(synchronize_session=False)).rowcount
    before = db.session.execute(sa.update(Outbox).where(stale, Outbox.handed_over_at.is_(None))
                                .values(status="pending", lease_until=None, next_attempt_at=now,
                                        last_error=INTERRUPTED_BEFORE_HANDOVER)
                                .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if after or before:
        log.warning("outbox: %s interrupted deliveries failed (may have arrived), %s retried", after, before)
    return after + before


def outbox_deliver(*, ids: list | None = None, limit: int = 200, smtp_factory=None) -> dict:
    """Deliver what is due (only `ids`, when given); commits. Returns counts by outcome.

    With `ids` (the rows a commit has just written, enqueued then) each is claimed straight away:
    the claim itself checks it is still pending and due, and one that is not is left out of the
    counts. Recovering interrupted deliveries is the sweep's (no `ids`), every minute or so."""
    if ids is not None:
        return _counted(_deliver_batches([uuid.UUID(str(i)) for i in ids[:limit]], smtp_factory=smtp_factory))
    recover_interrupted()
    due = list(db.session.scalars(
        sa.select(Outbox.id).where(Outbox.status == "pending", Outbox.next_attempt_at <= clock.now())
        .order_by(Outbox.next_attempt_at).limit(limit)))
    db.session.commit()
    return _counted(_deliver_batches(due, smtp_factory=smtp_factory))


def _counted(outcomes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def outbox_retry(*, actor: User, outbox_id) -> Outbox:
    """Ops: try a failed message again (a fresh set of tries). Flushes; the caller commits."""
    row = db.session.get(Outbox, outbox_id)
    if row is None:
        raise NotFound("No such message.")
    if row.status != "failed":
        raise Conflict("Only failed messages can be retried.")
    row.status, row.tries, row.next_attempt_at, row.handed_over_at = "pending", 0, clock.now(), None
    db.session.flush()
    from portal.services.outbox import note_new

    note_new(row.id)
    audit_record(actor=actor, action="outbox_retried", entity_type="outbox", entity_id=row.id,
                 old_values={"status": "failed"}, new_values={"status": "pending"})
    return row
