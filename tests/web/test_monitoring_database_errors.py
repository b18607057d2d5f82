"""Database error text (DETAIL, CONTEXT, the failing row) never reaches the logs or Sentry:
PostgreSQL quotes the data that failed, and `hide_parameters` does not cover it."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from portal.extensions import db
from portal.models import SessionNote
from portal.web.monitoring import scrub_database_text, scrub_event

WORDS = "patient mentioned panic attacks"
PG_MESSAGE = (
    '(psycopg.errors.UntranslatableCharacter) unsupported Unicode escape sequence\n'
    'DETAIL:  \\u0000 cannot be converted to text.\n'
    f'CONTEXT:  JSON data, line 1: {{"notes": "{WORDS}...\n'
    '[SQL: INSERT INTO session_notes (id, metadata) VALUES (%(id)s::UUID, %(metadata)s::JSONB)]\n'
    '[parameters: {"metadata": "' + WORDS + '"}]\n'
    '(Background on this error at: https://sqlalche.me/e/21/9h9h)'
)
UNIQUE_MESSAGE = (
    '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "uq_users_email"\n'
    'DETAIL:  Key (email)=(someone@example.test) already exists.\n'
    '[SQL: INSERT INTO users (email) VALUES (%(email)s)]'
)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured_logs():
    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


@pytest.fixture
def sentry_events():
    envelopes: list = []

    class Capturing(Transport):
        def capture_envelope(self, envelope):
            envelopes.append(envelope)

    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Capturing(), before_send=scrub_event,
                    default_integrations=False)

    def events():
        sentry_sdk.flush()
        return [item.payload.json for env in envelopes for item in env.items if item.type == "event"]

    yield events
    sentry_sdk.get_client().close()


def test_the_scrubber_drops_detail_context_rows_and_parameters():
    scrubbed = scrub_database_text(PG_MESSAGE)
    assert WORDS not in scrubbed and "DETAIL" not in scrubbed and "CONTEXT" not in scrubbed
    assert scrubbed.startswith("(psycopg.errors.UntranslatableCharacter) unsupported Unicode escape sequence")
    assert "[SQL: INSERT INTO session_notes" in scrubbed  # the statement (no data) still helps whoever debugs
    unique = scrub_database_text(UNIQUE_MESSAGE)
    assert "someone@example.test" not in unique and "uq_users_email" in unique


def test_a_logged_database_error_loses_its_detail_in_every_handler(app, captured_logs, sentry_events):
    try:
        raise RuntimeError(PG_MESSAGE)
    except RuntimeError as error:
        logging.getLogger("portal.anything").exception("saving failed: %s", error)
        sentry_sdk.capture_exception(error)
    text = "\n".join(captured_logs)
    assert "saving failed" in text and "unsupported Unicode escape sequence" in text
    assert WORDS not in text and "Key (email)" not in text
    events = sentry_events()
    assert events and WORDS not in str(events)


def test_a_real_postgresql_error_with_note_words_stays_out_of_logs_and_sentry(
        app, client, users, api_headers, make_booking, postgres_only, captured_logs, sentry_events, monkeypatch):
    """The guard refuses NUL before it reaches a service; here a service writes it anyway (as a bug
    would), and PostgreSQL's answer quotes the note in its CONTEXT line."""
    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))

    def buggy_note_create(*, actor, booking_id, data, provider_id=None):
        note = SessionNote(booking_id=booking.id, provider_id=actor.id, notes="x",
                           metadata_={"notes": f"{WORDS}\x00"})
        db.session.add(note)
        db.session.flush()
        return note

    monkeypatch.setattr("portal.api.notes.note_create", buggy_note_create)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.post("/api/v1/session-notes", json={"booking_id": str(booking.id), "notes": "fine"},
                           headers=api_headers(users["specialist"]))
    assert response.status_code == 500 and WORDS not in response.get_data(as_text=True)
    text = "\n".join(captured_logs)
    assert "unhandled error on POST /api/v1/session-notes" in text
    assert WORDS not in text and "CONTEXT" not in text
    events = sentry_events()
    assert events and WORDS not in str(events)
