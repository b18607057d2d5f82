"""Intake questionnaires and answers (health data: the patient, that specialist and admins only;
never in logs or audit values), the clinic's terms (a new version asks again) and consents
(recording refused without one, and after it is withdrawn)."""
from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog

QUESTIONS = [
    {"id": "reason", "kind": "long_text", "label": "What brings you here?", "required": True},
    {"id": "contact", "kind": "short_text", "label": "Emergency contact", "required": True},
    {"id": "before", "kind": "yes_no", "label": "Have you had therapy before?"},
    {"id": "times", "kind": "multiple_choice", "label": "Good times", "options": ["Mornings", "Evenings"]},
    {"id": "mode", "kind": "single_choice", "label": "Preferred", "options": ["Video", "In person"]},
    {"id": "born", "kind": "date", "label": "Date of birth"},
]
ANSWERS = {"reason": "Sleepless since the accident", "contact": "Kim, 555-0101", "before": False,
           "times": ["Evenings", "Mornings"], "mode": "Video", "born": "1990-04-01"}
SECRET = "Sleepless since the accident"


def form_url(specialist) -> str:
    return f"/api/v1/specialists/{specialist.id}/intake-form"


def response_url(specialist) -> str:
    return f"/api/v1/specialists/{specialist.id}/intake-response"


@pytest.fixture
def questionnaire(client, users, api_headers):
    response = client.put(form_url(users["specialist"]), headers=api_headers(users["specialist"]),
                          json={"questions": QUESTIONS})
    assert response.status_code == 200, response.json
    return response.json


def test_the_specialist_keeps_an_ordered_checked_questionnaire(client, users, api_headers, questionnaire):
    specialist = users["specialist"]
    assert [q["id"] for q in questionnaire["questions"]] == [q["id"] for q in QUESTIONS]
    assert client.get(form_url(specialist), headers=api_headers(users["patient"])).json["questions"][0] == {
        "id": "reason", "kind": "long_text", "label": "What brings you here?", "required": True}
    for body, field in [({"questions": [{"kind": "essay", "label": "x"}]}, "questions.0.kind"),
                        ({"questions": [{"kind": "single_choice", "label": "x", "options": ["a"]}]},
                         "questions.0.options"),
                        ({"questions": [{"kind": "short_text", "label": ""}]}, "questions.0.label"),
                        ({"questions": [{"id": "a", "kind": "date", "label": "x"},
                                        {"id": "a", "kind": "date", "label": "y"}]}, "questions.1.id"),
                        ({"questions": "reason?"}, "questions")]:
        refused = client.put(form_url(specialist), headers=api_headers(specialist), json=body)
        assert refused.status_code == 400 and field in refused.json["fields"], (body, refused.json)
    assert client.get(form_url(specialist), headers=api_headers(specialist)).json["questions"] == \
        questionnaire["questions"]
    for role in ("patient", "other_specialist"):
        assert client.put(form_url(specialist), headers=api_headers(users[role]),
                          json={"questions": []}).status_code == 403
    assert client.put(form_url(specialist), headers=api_headers(users["admin"]), json={"questions": []}).json[
        "questions"] == []


def test_answers_are_checked_against_the_questions(client, users, api_headers, questionnaire):
    headers = api_headers(users["patient"])
    missing = client.put(response_url(users["specialist"]), headers=headers, json={"answers": {"reason": "x"}})
    assert missing.status_code == 400 and missing.json["fields"] == {"answers.contact": "Required."}
    wrong = client.put(response_url(users["specialist"]), headers=headers, json={"answers": {
        **ANSWERS, "mode": "Phone", "born": "1st April", "before": "maybe", "extra": "x"}})
    assert wrong.status_code == 400 and set(wrong.json["fields"]) == {
        "answers.mode", "answers.born", "answers.before", "answers.extra"}
    assert client.get(response_url(users["specialist"]), headers=headers).status_code == 404


def test_answers_are_read_by_the_patient_that_specialist_and_admins_only(client, users, api_headers,
                                                                         questionnaire, caplog):
    specialist, patient = users["specialist"], users["patient"]
    with caplog.at_level(logging.DEBUG):
        saved = client.put(response_url(specialist), headers=api_headers(patient), json={"answers": ANSWERS})
    assert saved.status_code == 200 and saved.json["answers"]["times"] == ["Mornings", "Evenings"]
    assert client.get(response_url(specialist), headers=api_headers(patient)).json["answers"]["reason"] == SECRET
    query = {"patient_id": str(patient.id)}
    for role in ("specialist", "admin"):
        read = client.get(response_url(specialist), headers=api_headers(users[role]), query_string=query)
        assert read.status_code == 200 and read.json["answers"]["reason"] == SECRET
    other = client.get(response_url(specialist), headers=api_headers(users["other_specialist"]),
                       query_string=query)
    assert other.status_code == 404
    theirs = client.get(response_url(users["other_specialist"]), headers=api_headers(users["other_specialist"]),
                        query_string=query)
    assert theirs.status_code == 404
    # The other patient asks for this patient's answers and gets their own (none).
    assert client.get(response_url(specialist), headers=api_headers(users["other_patient"]),
                      query_string=query).status_code == 404
    assert client.put(response_url(specialist), headers=api_headers(specialist),
                      json={"answers": ANSWERS}).status_code == 403
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "intake_answered")).one()
    assert audit.new_values["answered"] is True and SECRET not in str(audit.new_values)
    assert SECRET not in caplog.text and "Kim" not in caplog.text


def test_a_new_version_of_the_terms_is_asked_again(client, users, api_headers):
    patient, admin = users["patient"], users["admin"]
    assert client.get("/api/v1/terms").json["version"] is None
    assert client.post("/api/v1/terms", headers=api_headers(patient), json={"body": "Mine"}).status_code == 403
    assert client.post("/api/v1/terms", headers=api_headers(admin), json={"body": ""}).status_code == 400
    first = client.post("/api/v1/terms", headers=api_headers(admin), json={"body": "Cancel 24 hours ahead."})
    assert first.status_code == 201 and first.json["version"] == 1
    assert client.get("/api/v1/terms").json["body"] == "Cancel 24 hours ahead."
    agreed = client.post("/api/v1/me/consents", headers=api_headers(patient), json={"kind": "terms"})
    assert agreed.status_code == 201 and agreed.json["terms_version"] == 1
    from portal.selectors.intake import terms_pending

    assert terms_pending(patient.id) is None
    client.post("/api/v1/terms", headers=api_headers(admin), json={"body": "Cancel 48 hours ahead."})
    assert terms_pending(patient.id).version == 2
    again = client.post("/api/v1/me/consents", headers=api_headers(patient), json={"kind": "terms"})
    assert again.json["terms_version"] == 2
    listed = client.get("/api/v1/me/consents", headers=api_headers(patient)).json
    assert sorted(c["terms_version"] for c in listed) == [1, 2]
    assert client.get("/api/v1/me/consents", headers=api_headers(users["other_patient"])).json == []


MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


def _upload(client, headers, booking):
    return client.post("/api/v1/meeting-recordings", headers=headers, content_type="multipart/form-data",
                       data={"booking_id": str(booking.id), "file": (io.BytesIO(MP4), "s.mp4")})


def test_a_recording_needs_the_patients_live_consent_with_that_specialist(app, client, users, api_headers,
                                                                          make_booking):
    patient, specialist, admin = users["patient"], users["specialist"], users["admin"]
    booking = make_booking(patient, specialist, datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    # Who may record comes first; then the consent, before anything about the file.
    assert _upload(client, api_headers(patient), booking).status_code == 403
    refused = _upload(client, api_headers(admin), booking)
    assert refused.status_code == 409 and refused.json["error"] == "NO_RECORDING_CONSENT"
    no_file = client.post("/api/v1/meeting-recordings", headers=api_headers(admin),
                          content_type="multipart/form-data", data={"booking_id": str(booking.id),
                                                                    "file": (io.BytesIO(b"nope"), "s.txt")})
    assert no_file.status_code == 409 and no_file.json["error"] == "NO_RECORDING_CONSENT"
    other = client.post("/api/v1/me/consents", headers=api_headers(patient),
                        json={"kind": "recording", "specialist_id": str(users["other_specialist"].id)})
    assert other.status_code == 201
    assert _upload(client, api_headers(admin), booking).json["error"] == "NO_RECORDING_CONSENT"
    assert client.post("/api/v1/me/consents", headers=api_headers(patient),
                       json={"kind": "recording"}).status_code == 400
    consent = client.post("/api/v1/me/consents", headers=api_headers(patient),
                          json={"kind": "recording", "specialist_id": str(specialist.id)}).json
    assert consent["specialist_id"] == str(specialist.id) and consent["withdrawn_at"] is None
    stored = _upload(client, api_headers(admin), booking)
    assert stored.status_code == 201, stored.json
    # The specialist sees the consent that names them; another patient cannot withdraw it.
    assert client.delete(f"/api/v1/me/consents/{consent['id']}",
                         headers=api_headers(users["other_patient"])).status_code == 404
    assert client.delete(f"/api/v1/me/consents/{consent['id']}", headers=api_headers(specialist)).status_code == 403
    withdrawn = client.delete(f"/api/v1/me/consents/{consent['id']}", headers=api_headers(patient))
    assert withdrawn.status_code == 200 and withdrawn.json["withdrawn_at"]
    assert _upload(client, api_headers(admin), booking).json["error"] == "NO_RECORDING_CONSENT"
    # The recording made while the consent held stays playable.
    link = client.get(f"/api/v1/meeting-recordings/{stored.json['id']}/signed-url", headers=api_headers(patient))
    assert link.status_code == 200 and link.json["url"], link.json


def test_the_rule_can_be_turned_off(app, client, users, api_headers, make_booking, monkeypatch):
    monkeypatch.setitem(app.config, "RECORDING_CONSENT_REQUIRED", False)
    booking = make_booking(users["patient"], users["specialist"],
                           datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    assert _upload(client, api_headers(users["admin"]), booking).status_code == 201


def test_a_failure_while_saving_answers_reaches_sentry_without_them(client, users, api_headers, questionnaire,
                                                                    monkeypatch):
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from portal.web.monitoring import scrub_event

    envelopes = []

    class Capturing(Transport):
        def capture_envelope(self, envelope):
            envelopes.append(envelope)

    def broken_audit(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("portal.services.intake.audit_record", broken_audit)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Capturing(), before_send=scrub_event)
    try:
        response = client.put(response_url(users["specialist"]), headers=api_headers(users["patient"]),
                              json={"answers": ANSWERS})
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
        client.application.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    events = [item.payload.json for env in envelopes for item in env.items if item.type == "event"]
    assert events and all(SECRET not in repr(event) and "Kim, 555" not in repr(event) for event in events)


def test_the_patients_data_export_holds_their_answers_beside_the_questions(client, users, api_headers,
                                                                          questionnaire):
    client.put(response_url(users["specialist"]), headers=api_headers(users["patient"]), json={"answers": ANSWERS})
    (answered,) = client.get("/api/v1/me/export", headers=api_headers(users["patient"])).json["intake_answers"]
    assert answered["answers"][0] == {"question": "What brings you here?", "answer": SECRET}
    assert answered["specialist"] == users["specialist"].display_name
    assert client.get("/api/v1/me/export", headers=api_headers(users["other_patient"])).json["intake_answers"] == []
