"""Delivering the outbox: claim, render, hand to SMTP, record. Runs in jobs, never in a request.

Exactly once: a row is claimed by one UPDATE (pending -> sending, with a lease) that only one
deliverer can win, and committed. Just before the message goes to the SMTP server the row is
marked `handed_over_at` and committed again. A deliverer that dies before that point leaves a row
that is safely tried again once its lease runs out; one that dies after it may have sent the
message, so the row becomes `failed` ("may have arrived") and is only resent when ops ask for it.
Every later write checks the claim is still this deliverer's (its try count): one that stalled past
its lease, while the row went to another, neither sends it nor records anything.
A failed try before hand-over (server down, refused) is retried with backoff, OUTBOX_MAX_TRIES in all.

Rows are claimed a batch at a time: one statement leases them, one query reads their recipients,
and the batch's messages share one SMTP connection (mail_delivery.smtp). Each is rendered afresh
when it goes (mail_delivery.rendering): the row keeps a copy without working links. Without
SMTP_URL the messages go to the instance folder (and the console) instead of a mail server, and
the batch's outcomes are recorded together, in one statement and one commit.

Unlike most services these functions COMMIT (one short transaction per step), and they are called
from jobs only (portal.jobs.tasks and portal.jobs.delivery, the in-process scheduler)."""
from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import datetime, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.errors import Conflict, NotFound
from portal.extensions import db
from portal.models import Outbox, User
from portal.models.transactions import commit_as_written
from portal.services.audit import audit_record
from portal.services.booking_mail import bookings_read_ahead
from portal.services.mail_context import MailObsolete
from portal.services.mail_delivery.rendering import LINK_NOT_KEPT, compose, render, render_kept_copy
from portal.services.mail_delivery.smtp import BatchConnection, SmtpUnavailable, smtp_connect
from portal.services.mail_files import mail_to_instance_folder

__all__ = ["LINK_NOT_KEPT", "SmtpUnavailable", "outbox_deliver", "outbox_deliver_due", "outbox_retry",
           "recover_interrupted", "smtp_connect"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# Rows claimed in one transaction. Their leases run while they go out one after another (at most
# about 15 s each with the connection's timeouts, 30 s for one that opens a connection): well
# inside LEASE.
CLAIM_BATCH = 5
# What one job woken by commits delivers before it hands the rest to the next (portal.jobs.delivery).
PER_JOB = 200
INTERRUPTED_AFTER_HANDOVER = ("Interrupted after it was handed to the mail server: it may have arrived, so it "
                              "is not resent on its own. Retry it if the recipient did not get it.")
INTERRUPTED_BEFORE_HANDOVER = "The deliverer stopped before sending; tried again."


# -- claiming and recording, each its own transaction ---------------------------------------------

def _leased(rows_to_claim: sa.Update, now: datetime) -> list[Outbox]:
    """The rows `rows_to_claim` reaches, leased to this deliverer and committed so."""
    rows = db.session.scalars(
        rows_to_claim.values(status="sending", lease_until=now + LEASE, tries=Outbox.tries + 1, handed_over_at=None)
        .returning(Outbox).execution_options(populate_existing=True)).all()
    commit_as_written()  # the leases are committed; the rows as leased are what the delivery reads
    for row in rows:  # and stay so while the batch's earlier messages commit their outcomes
        db.session.expunge(row)
    return rows


def _claim(outbox_ids: list[uuid.UUID], now: datetime) -> list[Outbox]:
    """Those of the rows that are due, in the order given. A row not due, or another
    deliverer's, is left out."""
    rows = _leased(sa.update(Outbox).where(Outbox.id.in_(outbox_ids), Outbox.status == "pending",
                                           Outbox.next_attempt_at <= now), now)
    order = {outbox_id: index for index, outbox_id in enumerate(outbox_ids)}
    return sorted(rows, key=lambda row: order[row.id])


def _claim_due(now: datetime, batch: int) -> list[Outbox]:
    """Up to `batch` of the rows due now, oldest first. Rows another deliverer is claiming at
    the same moment are passed over (SKIP LOCKED), not waited for: deliverers share the work."""
    # Chosen once, in a CTE of its own: as `id IN (subquery)` PostgreSQL may run the LIMIT more
    # than once and lease more than `batch` rows.
    due = (sa.select(Outbox.id).where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
           .order_by(Outbox.next_attempt_at, Outbox.id).limit(batch).with_for_update(skip_locked=True)
           .cte("due").prefix_with("MATERIALIZED"))
    rows = _leased(sa.update(Outbox).where(Outbox.id == due.c.id, Outbox.status == "pending"), now)
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


def _still_ours(row: Outbox) -> sa.ColumnElement[bool]:
    """The row as this deliverer's claim left it. Each claim counts a try, so a row whose lease
    ran out and that another deliverer has claimed since (a stalled process) is not."""
    return sa.and_(Outbox.id == row.id, Outbox.status == "sending", Outbox.tries == row.tries)


def _finish(row: Outbox, **values) -> None:
    db.session.execute(sa.update(Outbox).where(_still_ours(row))
                       .values(lease_until=None, **values).execution_options(synchronize_session=False))
    commit_as_written()  # the batch's other messages go on from what it read ahead


def _finish_many(outcomes: list[tuple[Outbox, dict]]) -> None:
    """Record a batch's outcomes, (row, values) each: one statement for each kind of outcome
    (its values' names), one commit. A row no longer this deliverer's is left as it is."""
    table = Outbox.__table__
    by_names: dict[tuple[str, ...], list[dict]] = {}
    for row, values in outcomes:
        by_names.setdefault(tuple(sorted(values)), []).append(
            {"outbox_id": row.id, "claimed_tries": row.tries,
             **{f"new_{name}": value for name, value in values.items()}})
    for names, parameters in by_names.items():
        db.session.execute(
            table.update().where(table.c.id == sa.bindparam("outbox_id"), table.c.status == "sending",
                                 table.c.tries == sa.bindparam("claimed_tries"))
            .values(lease_until=None, **{name: sa.bindparam(f"new_{name}") for name in names}), parameters)
    db.session.commit()


def _backoff(tries: int) -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"] * 4 ** max(tries - 1, 0))


def _failure(row: Outbox, error: str, now: datetime) -> tuple[str, dict]:
    """A failed try before hand-over: retried later, or failed for good after the last try."""
    if row.tries >= current_app.config["OUTBOX_MAX_TRIES"]:
        log.warning("outbox %s failed for good after %s tries", row.id, row.tries)
        return "failed", {"status": "failed", "last_error": error[:500]}
    log.info("outbox %s: try %s failed, retried later", row.id, row.tries)
    return "retry", {"status": "pending", "last_error": error[:500], "next_attempt_at": now + _backoff(row.tries)}


def _try_failed(row: Outbox, error: str, now: datetime) -> str:
    outcome, values = _failure(row, error, now)
    _finish(row, **values)
    return outcome


# -- delivering a claimed batch ---------------------------------------------------------------------

def _prepared(row: Outbox, recipient: User | None, now: datetime):
    """(the message, what the row keeps of it), or (None, (outcome, values)) when it cannot go:
    dropped (no longer applies) or a failed try (it could not be rendered)."""
    try:
        content, text, html = render(row, recipient)
        kept_text, kept_html = render_kept_copy(row, recipient, content) if content.secret_names else (text, html)
    except MailObsolete as why:
        return None, ("dropped", {"status": "dropped", "last_error": str(why)[:500]})
    except Exception as error:  # noqa: BLE001 - a template or data bug: count the try, tell Sentry via the log
        db.session.rollback()
        log.exception("outbox %s could not be rendered", row.id)
        return None, _failure(row, f"Could not render the message ({type(error).__name__}).", now)
    kept = {"subject": content.subject[:300], "body_text": kept_text, "body_html": kept_html,
            "sent_to": recipient.email}
    return (compose(row, recipient, content, text, html), kept), None


def _keep(row: Outbox, recipient: User | None) -> tuple[str, dict]:
    """Without a mail server: the message to the instance folder; (outcome, values to record)."""
    now = clock.now()
    ready, stopped = _prepared(row, recipient, now)
    if stopped:
        return stopped
    message, kept = ready
    try:
        mail_to_instance_folder(row, message)
    except OSError as error:
        return _failure(row, f"Could not write the message to the instance folder ({type(error).__name__}).", now)
    return "kept", {"status": "kept", "sent_at": now, **kept}


def _send(row: Outbox, recipient: User | None, connection: BatchConnection) -> str:
    """Through the mail server, handed over and recorded in transactions of its own (exactly once)."""
    now = clock.now()
    ready, stopped = _prepared(row, recipient, now)
    if stopped:
        outcome, values = stopped
        _finish(row, **values)
        return outcome
    message, kept = ready
    try:
        smtp = connection.open()
    except SmtpUnavailable as error:
        return _try_failed(row, str(error), now)
    handed_over = db.session.execute(sa.update(Outbox).where(_still_ours(row)).values(handed_over_at=clock.now())
                                     .execution_options(synchronize_session=False)).rowcount
    commit_as_written()
    if not handed_over:  # its lease ran out and another deliverer has it: that one sends it
        log.warning("outbox %s: lease ran out before hand-over, left to the deliverer holding it", row.id)
        return "lease_lost"
    try:
        smtp.send_message(message, from_addr=parseaddr(current_app.config["MAIL_FROM"])[1], to_addrs=[recipient.email])
    except smtplib.SMTPResponseException as error:  # the server answered no: it did not take it
        connection.discard()  # a server that refuses may also have closed: the next one starts afresh
        return _try_failed(row, f"The mail server refused it: {error.smtp_code}", now)
    except smtplib.SMTPRecipientsRefused:
        connection.discard()
        return _try_failed(row, "The mail server refused the recipient.", now)
    except (OSError, smtplib.SMTPException) as error:  # no answer: it may have arrived
        connection.discard()
        _finish(row, status="failed", last_error=f"{INTERRUPTED_AFTER_HANDOVER} ({type(error).__name__})")
        return "failed"
    _finish(row, status="sent", sent_at=clock.now(), last_error=None, **kept)
    return "sent"


def _deliver_claimed(rows: list[Outbox], *, smtp_factory=None) -> list[str]:
    """Deliver rows this deliverer has just claimed, in order: "sent", "kept", "retry", "failed",
    "dropped" or "lease_lost" (another deliverer holds it now) each. Their recipients are read in
    one query."""
    if not rows:
        return []
    recipients = {user.id: user for user in db.session.scalars(
        sa.select(User).where(User.id.in_({row.recipient_id for row in rows})))}
    read_ahead = bookings_read_ahead([row.about or {} for row in rows])  # noqa: F841 - held while the batch goes out
    try:
        url = current_app.config.get("SMTP_URL")
        if url:
            with BatchConnection(url, smtp_factory) as connection:
                return [_send(row, recipients.get(row.recipient_id), connection) for row in rows]
        outcomes = [_keep(row, recipients.get(row.recipient_id)) for row in rows]
        _finish_many([(row, values) for row, (_, values) in zip(rows, outcomes, strict=True)])
        return [outcome for outcome, _ in outcomes]
    finally:
        db.session.expire_all()  # what the batch read is not what the next one reads


# -- what the jobs call -----------------------------------------------------------------------------

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


def outbox_deliver_due(*, limit: int = 200, smtp_factory=None) -> dict:
    """Deliver what is due now, CLAIM_BATCH rows at a time, at most `limit`; commits. Returns
    counts by outcome (as many as `limit` in all when more may be due)."""
    outcomes: list[str] = []
    while len(outcomes) < limit:
        batch = min(CLAIM_BATCH, limit - len(outcomes))
        claimed = _claim_due(clock.now(), batch)
        outcomes += _deliver_claimed(claimed, smtp_factory=smtp_factory)
        if len(claimed) < batch:
            break
    return _counted(outcomes)


def outbox_deliver(*, ids: list | None = None, limit: int = 200, smtp_factory=None) -> dict:
    """Deliver what is due (only `ids`, when given); commits. Returns counts by outcome.

    With `ids` each is claimed straight away: the claim itself checks it is still pending and
    due, and one that is not is left out of the counts. Without, interrupted deliveries are
    recovered first: the sweep, every minute or so."""
    if ids is not None:
        outbox_ids = [uuid.UUID(str(i)) for i in ids[:limit]]
        return _counted(outcome for start in range(0, len(outbox_ids), CLAIM_BATCH)
                        for outcome in _deliver_claimed(_claim(outbox_ids[start:start + CLAIM_BATCH], clock.now()),
                                                        smtp_factory=smtp_factory))
    recover_interrupted()
    return outbox_deliver_due(limit=limit, smtp_factory=smtp_factory)


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
