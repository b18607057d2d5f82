"""The pages: a first booking with a specialist who asks questions leads to the intake page (the
booking stands either way); "Join" shows from 15 minutes before the start until the end, to the
parties only; the specialist reads the answers beside the booking and in the client's history,
and keeps the questionnaire on their own page."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Booking, Consent, IntakeResponse
from portal.services.intake import intake_form_set, intake_response_set, terms_set
from portal.services.offerings import service_create

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
NOW = MONDAY - timedelta(days=1)
QUESTIONS = [{"id": "reason", "kind": "long_text", "label": "What brings you here?", "required": True},
             {"id": "before", "kind": "yes_no", "label": "Therapy before?"},
             {"id": "times", "kind": "multiple_choice", "label": "Good times", "options": ["Mornings", "Evenings"]}]


@pytest.fixture(autouse=True)
def frozen_now():
    with clock.frozen(NOW):
        yield


@pytest.fixture
def video(users):
    service = service_create(actor=users["specialist"], specialist_id=users["specialist"].id, name="Video",
                             duration_minutes=60, price="90.00", currency="USD", location={"kind": "video"})
    db.session.commit()
    return service


@pytest.fixture
def questionnaire(users):
    intake_form_set(actor=users["specialist"], specialist_id=users["specialist"].id, questions=QUESTIONS)
    db.session.commit()


def _book(client, specialist, video, hour=10):
    return client.post(f"/specialists/{specialist.id}/book",
                       data={"starts_at": (MONDAY + timedelta(hours=hour)).isoformat(), "service": str(video.id)})


def test_a_first_booking_leads_to_the_intake_and_a_later_one_does_not(client, users, login_as, video,
                                                                      questionnaire):
    specialist, patient = users["specialist"], users["patient"]
    login_as(patient)
    booked = _book(client, specialist, video)
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booked.status_code == 302 and booked.location.endswith(f"/intake/{specialist.id}?booking={booking.id}")
    page = client.get(booked.location).get_data(as_text=True)
    assert "What brings you here?" in page and "may record our sessions" in page
    detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "still to be filled in" in detail
    second = _book(client, specialist, video, hour=14)
    assert second.status_code == 302 and "/bookings/" in second.location


def test_the_intake_page_checks_saves_and_records_the_consents(client, users, login_as, questionnaire):
    specialist, patient = users["specialist"], users["patient"]
    terms_set(actor=users["admin"], body="Cancel a day ahead.")
    db.session.commit()
    login_as(patient)
    url = f"/intake/{specialist.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Cancel a day ahead." in page and "version 1" in page
    missing = client.post(url, data={"q-before": "yes"})
    assert missing.status_code == 422 and "Required." in missing.get_data(as_text=True)
    assert db.session.scalars(sa.select(Consent)).all() == []
    saved = client.post(url, data={"q-reason": "Sleep", "q-before": "no", "q-times": ["Evenings", "Mornings"],
                                   "agree_terms": "y", "agree_recording": "y"})
    assert saved.status_code == 302
    response = db.session.scalars(sa.select(IntakeResponse)).one()
    assert response.answers == {"reason": "Sleep", "before": False, "times": ["Mornings", "Evenings"]}
    assert {(c.kind, c.terms_version, c.specialist_id) for c in db.session.scalars(sa.select(Consent))} == {
        ("terms", 1, None), ("recording", None, specialist.id)}
    again = client.get(url).get_data(as_text=True)
    assert "Cancel a day ahead." not in again and "You have agreed" in again and ">Sleep</textarea>" in again
    login_as(users["specialist"])
    assert client.get(url).status_code == 403


def test_join_shows_from_15_minutes_before_until_the_end_to_the_parties(client, users, login_as, make_booking,
                                                                         video):
    starts = MONDAY + timedelta(hours=10)
    booking = make_booking(users["patient"], users["specialist"], starts, service_id=video.id,
                           room_url="https://meet.jit.si/clinic-testroom")
    for moment, shown in [(starts - timedelta(minutes=16), False), (starts - timedelta(minutes=15), True),
                          (starts + timedelta(minutes=59), True), (starts + timedelta(minutes=60), False)]:
        with clock.frozen(moment):
            for role in ("patient", "specialist"):
                login_as(users[role])
                page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
                assert ('href="https://meet.jit.si/clinic-testroom"' in page) is shown, (moment, role)
            login_as(users["patient"])
            card = client.get("/patient/").get_data(as_text=True)
            if moment < starts + timedelta(minutes=60):
                assert ('href="https://meet.jit.si/clinic-testroom"' in card) is shown, moment
            login_as(users["specialist"])
            dashboard = client.get("/specialist/").get_data(as_text=True)
            if moment < starts + timedelta(minutes=60):
                assert ('href="https://meet.jit.si/clinic-testroom"' in dashboard) is shown, moment
    login_as(users["other_patient"])
    assert client.get(f"/bookings/{booking.id}").status_code == 404


def test_the_specialist_reads_the_answers_beside_the_booking_and_in_the_history(client, users, login_as,
                                                                              make_booking, questionnaire):
    patient, specialist = users["patient"], users["specialist"]
    booking = make_booking(patient, specialist, MONDAY + timedelta(hours=10))
    login_as(specialist)
    assert "has not filled in" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    intake_response_set(actor=patient, specialist_id=specialist.id, answers={"reason": "Grief after a loss"})
    db.session.commit()
    assert "Grief after a loss" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Grief after a loss" in client.get(f"/specialist/clients/{patient.id}").get_data(as_text=True)
    login_as(users["other_specialist"])
    assert client.get(f"/specialist/clients/{patient.id}").status_code in (403, 404)
    login_as(users["admin"])
    assert "Grief after a loss" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)


def test_the_specialist_keeps_the_questionnaire_on_their_page(client, users, login_as):
    login_as(users["specialist"])
    assert client.get("/specialist/questionnaire").status_code == 200
    saved = client.post("/specialist/questionnaire", data={
        "label-0": "Reason for coming", "kind-0": "long_text", "required-0": "on",
        "label-1": "Preferred time", "kind-1": "single_choice", "options-1": "Morning, Evening",
        "label-2": "", "kind-2": "short_text"})
    assert saved.status_code == 302
    from portal.selectors.intake import intake_form_of

    form = intake_form_of(users["specialist"].id)
    assert [(q["label"], q["kind"], q["required"]) for q in form.questions] == [
        ("Reason for coming", "long_text", True), ("Preferred time", "single_choice", False)]
    assert form.questions[1]["options"] == ["Morning", "Evening"]
    bad = client.post("/specialist/questionnaire", data={"label-0": "Pick one", "kind-0": "single_choice",
                                                         "options-0": "Only"})
    assert bad.status_code == 422 and "different choices" in bad.get_data(as_text=True)
    login_as(users["patient"])
    assert client.get("/specialist/questionnaire").status_code == 403


def test_the_patient_withdraws_the_recording_consent_on_the_page(client, users, login_as):
    specialist, patient = users["specialist"], users["patient"]
    login_as(patient)
    url = f"/intake/{specialist.id}"
    client.post(url, data={"agree_recording": "y"})
    assert "Withdraw consent to recording" in client.get(url).get_data(as_text=True)
    withdrawn = client.post(f"{url}/recording/withdraw")
    assert withdrawn.status_code == 302
    (consent,) = db.session.scalars(sa.select(Consent).execution_options(populate_existing=True)).all()
    assert consent.withdrawn_at is not None
    assert "I agree that" in client.get(url).get_data(as_text=True)


def test_admins_publish_versions_of_the_terms(client, users, login_as):
    login_as(users["admin"])
    overview = client.get("/admin/").get_data(as_text=True)
    account_menu = overview.split('aria-label="Account"')[1].split("</nav>")[0]
    assert 'href="/admin/terms"' in account_menu and "The clinic&#39;s terms" in account_menu
    assert "No terms are set" in client.get("/admin/terms").get_data(as_text=True)
    assert client.post("/admin/terms", data={"body": ""}).status_code == 422
    assert client.post("/admin/terms", data={"body": "Be on time."}).status_code == 302
    assert client.post("/admin/terms", data={"body": "Be on time, please."}).status_code == 302
    page = client.get("/admin/terms").get_data(as_text=True)
    assert "Version 2" in page and "Be on time, please." in page
    login_as(users["specialist"])
    assert client.get("/admin/terms").status_code == 403
    assert 'href="/admin/terms"' not in client.get("/specialist").get_data(as_text=True)
