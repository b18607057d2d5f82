"""A note's private field: the author and admins read it; the booking's patient never does,
neither on the booking page nor through the API."""
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.extensions import db
from portal.services.notes import note_create

WRITTEN = datetime(2030, 3, 4, 12, 0, tzinfo=UTC)
PRIVATE = "Suspect the sleep problem is medication related"
BODY = {"notes": "Talked about sleep", "private_notes": PRIVATE}


@pytest.fixture
def note(users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], WRITTEN - timedelta(hours=2))
    with clock.frozen(WRITTEN):
        written = note_create(actor=users["specialist"], booking_id=booking.id, data=BODY)
    db.session.flush()
    return written


@pytest.mark.parametrize("role, sees", [("specialist", True), ("admin", True), ("patient", False)])
def test_the_api_lists_the_private_field_only_for_the_author_and_admins(client, users, note, api_headers,
                                                                        role, sees):
    one = client.get(f"/api/v1/session-notes/{note.id}", headers=api_headers(users[role])).get_json()
    listed = client.get("/api/v1/session-notes", headers=api_headers(users[role])).get_json()["items"]
    assert one["notes"] == "Talked about sleep"
    assert ("private_notes" in one) is sees
    assert ("private_notes" in listed[0]) is sees
    if sees:
        assert one["private_notes"] == PRIVATE == listed[0]["private_notes"]


def test_the_patient_cannot_find_a_note_by_its_private_words(client, users, note, api_headers):
    found = client.get("/api/v1/session-notes", query_string={"q": "medication"},
                       headers=api_headers(users["patient"])).get_json()["items"]
    assert found == []


@pytest.mark.parametrize("role, sees", [("specialist", True), ("admin", True), ("patient", False)])
def test_the_booking_page_shows_the_private_field_only_to_the_author_and_admins(login_as, users, note,
                                                                                 role, sees):
    page = login_as(users[role]).get(f"/bookings/{note.booking_id}").get_data(as_text=True)
    assert "Talked about sleep" in page
    assert (PRIVATE in page) is sees
    assert ("Private notes" in page) is sees


def test_the_note_form_says_the_patient_reads_the_note(login_as, users, note):
    page = login_as(users["specialist"]).get(f"/bookings/{note.booking_id}?add_note=1").get_data(as_text=True)
    assert "The patient can read this note" in page
    assert "Private notes (only you and administrators)" in page


def test_the_specialist_writes_a_private_note_on_the_booking_page(login_as, users, make_booking):
    booking = make_booking(users["patient"], users["specialist"], WRITTEN - timedelta(hours=2))
    client = login_as(users["specialist"])
    client.post(f"/bookings/{booking.id}/notes", data={"notes": "Shared", "private_notes": "Mine alone"})
    patient_page = login_as(users["patient"]).get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Shared" in patient_page and "Mine alone" not in patient_page
    own_page = login_as(users["specialist"]).get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Mine alone" in own_page
