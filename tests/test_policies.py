"""Who may view, create, update and delete each table, for every role.

The spec's "Security & RLS" section, extended to the base tables: a patient
sees only their own bookings, a specialist only the bookings with them, admin
all; ops run the machinery and read only the system's audit rows. Every model
in portal.models must have expectations here, so a new table cannot slip by.

For each subject row: `can(action, user, row)` must match the table below,
and `visible(Model, user)` used as a WHERE clause must return exactly the
rows of that table the user `can("view")` (checked over a world holding a
mirror row for the other patient and specialist, so scope leaks show).
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from portal import clock, policies
from portal.extensions import db
from portal.models import (
    ApiToken,
    AuditLog,
    AvailabilityException,
    Booking,
    BookingCancellation,
    BookingPackage,
    BookingStatusHistory,
    Consent,
    ConsentTerms,
    ErasureRequest,
    IntakeForm,
    IntakeResponse,
    JobRun,
    MeetingRecording,
    Outbox,
    PackageEnrolment,
    PackageService,
    RecordAccess,
    RecordingAccessCode,
    RecurringBooking,
    RecurringOccurrenceSkip,
    Service,
    SessionNote,
    SessionNoteAmendment,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.services.audit import audit_record

ROLES = ("anonymous", "patient", "other_patient", "specialist", "other_specialist", "admin", "ops")
SIGNED_IN = set(ROLES) - {"anonymous"}
PARTIES = {"patient", "specialist", "admin"}  # of the subject booking (patient with specialist)
OWNER = {"specialist", "admin"}                # of the subject specialist's own rows
ADMIN = {"admin"}
NOBODY: set[str] = set()


def rules(view, create, update, delete) -> dict[str, set[str]]:
    return {"view": set(view), "create": set(create), "update": set(update), "delete": set(delete)}


# subject name -> (model, expectations). Subjects belong to "patient" and "specialist".
EXPECTATIONS = {
    "patient_account": (User, rules({"patient", "admin"}, ADMIN, {"patient", "admin"}, ADMIN)),  # delete: erasure
    "specialist_account": (User, rules(ROLES, ADMIN, OWNER, NOBODY)),  # the public directory
    "specialist_profile": (SpecialistProfile, rules(SIGNED_IN, OWNER, OWNER, ADMIN)),
    "rate": (SpecialistRate, rules(SIGNED_IN, OWNER, OWNER, OWNER)),
    "working_hours": (WorkingHours, rules(SIGNED_IN, OWNER, OWNER, OWNER)),
    "service": (Service, rules(SIGNED_IN, OWNER, OWNER, OWNER)),
    "package_service": (PackageService, rules(SIGNED_IN, NOBODY, NOBODY, NOBODY)),
    "exception": (AvailabilityException, rules(SIGNED_IN, OWNER, OWNER, OWNER)),
    "active_package": (BookingPackage, rules(ROLES, OWNER, OWNER, OWNER)),
    "inactive_package": (BookingPackage, rules(OWNER, OWNER, OWNER, OWNER)),
    "enrolment": (PackageEnrolment, rules(PARTIES, {"patient"}, OWNER, NOBODY)),
    "booking": (Booking, rules(PARTIES, PARTIES, PARTIES, NOBODY)),  # a specialist books clients in
    "status_history": (BookingStatusHistory, rules(PARTIES, NOBODY, NOBODY, NOBODY)),
    "cancellation": (BookingCancellation, rules(PARTIES, {"patient"}, NOBODY, NOBODY)),
    "series": (RecurringBooking, rules(PARTIES, {"patient", "admin"}, {"patient", "admin"},
                                       {"patient", "admin"})),
    "series_skip": (RecurringOccurrenceSkip, rules(PARTIES, NOBODY, NOBODY, NOBODY)),
    "note": (SessionNote, rules(PARTIES, {"specialist"}, {"specialist"}, ADMIN)),
    "amendment": (SessionNoteAmendment, rules(PARTIES, {"specialist"}, NOBODY, ADMIN)),
    "recording": (MeetingRecording, rules(PARTIES, ADMIN, ADMIN, ADMIN)),
    "link_code": (RecordingAccessCode, rules(NOBODY, NOBODY, NOBODY, NOBODY)),
    "user_audit_row": (AuditLog, rules(ADMIN, NOBODY, NOBODY, NOBODY)),
    "system_audit_row": (AuditLog, rules({"admin", "ops"}, NOBODY, NOBODY, NOBODY)),
    "outbox_message": (Outbox, rules({"admin", "ops"}, NOBODY, NOBODY, NOBODY)),
    "job_run": (JobRun, rules({"admin", "ops"}, NOBODY, NOBODY, NOBODY)),
    "access_row": (RecordAccess, rules({"patient", "admin"}, NOBODY, NOBODY, NOBODY)),
    "erasure_request": (ErasureRequest, rules({"patient", "admin"}, {"patient"}, ADMIN, NOBODY)),
    "intake_form": (IntakeForm, rules(SIGNED_IN, OWNER, OWNER, OWNER)),
    "intake_response": (IntakeResponse, rules(PARTIES, {"patient"}, {"patient"}, ADMIN)),
    "consent_terms": (ConsentTerms, rules(ROLES, ADMIN, NOBODY, NOBODY)),
    "recording_consent": (Consent, rules(PARTIES, {"patient"}, {"patient"}, NOBODY)),
    "terms_consent": (Consent, rules({"patient", "admin"}, {"patient"}, {"patient"}, NOBODY)),
    "patient_token": (ApiToken, rules({"patient", "admin"}, {"patient", "admin"}, {"patient", "admin"},
                                      {"patient", "admin"})),
}


def all_models() -> set[type]:
    return {mapper.class_ for mapper in db.Model.registry.mappers}


def test_every_model_has_access_expectations():
    covered = {model for model, _ in EXPECTATIONS.values()}
    assert all_models() - covered == set(), "add access expectations for these models"
    for name, (_, expected) in EXPECTATIONS.items():
        assert set(expected) == set(policies.ACTIONS), name
        for action, roles in expected.items():
            assert roles <= set(ROLES), (name, action, roles - set(ROLES))


def _hm(value: str) -> time:
    return time.fromisoformat(value)


def build_party_rows(patient: User, specialist: User, booking: Booking) -> dict[str, object]:
    """One row of every kind around `booking` (patient with specialist)."""
    today = date.today()
    series = RecurringBooking(user_id=patient.id, specialist_id=specialist.id, frequency="weekly",
                              start_date=today, time_of_day=_hm("10:00"))
    db.session.add(series)
    db.session.flush()
    note = SessionNote(booking_id=booking.id, provider_id=specialist.id, notes="private")
    rows = {
        "patient_account": patient,
        "specialist_account": specialist,
        "specialist_profile": db.session.get(SpecialistProfile, specialist.id),
        "rate": db.session.scalar(sa.select(SpecialistRate).filter_by(specialist_id=specialist.id)),
        "working_hours": db.session.scalar(sa.select(WorkingHours).filter_by(specialist_id=specialist.id)),
        "service": db.session.scalar(sa.select(Service).filter_by(specialist_id=specialist.id)),
        "exception": AvailabilityException(specialist_id=specialist.id, reason="training",
                                           exception_date=today + timedelta(days=3)),
        "active_package": BookingPackage(specialist_id=specialist.id, name="Four", session_count=4,
                                         price=Decimal(300)),
        "inactive_package": BookingPackage(specialist_id=specialist.id, name="Old", session_count=2,
                                           price=Decimal(150), is_active=False),
        "enrolment": PackageEnrolment(patient_id=patient.id, specialist_id=specialist.id, package_name="Four",
                                      credits_total=4, price=Decimal(300), currency="USD"),
        "booking": booking,
        "status_history": db.session.scalar(sa.select(BookingStatusHistory).filter_by(booking_id=booking.id)),
        "cancellation": BookingCancellation(booking_id=booking.id, cancelled_by=patient.id, reason="ill"),
        "series": series,
        "series_skip": RecurringOccurrenceSkip(recurring_booking_id=series.id, occurrence_date=today,
                                               reason="holiday"),
        "note": note,
        "recording": MeetingRecording(booking_id=booking.id, storage_path=f"rec/{booking.id}.mp4",
                                      storage_size_bytes=10, file_format="mp4"),
        "user_audit_row": audit_record(actor=patient, action="booking_created", entity_type="booking",
                                       entity_id=booking.id),
        "system_audit_row": audit_record(actor=None, action="recurring_bookings_dispatched",
                                         entity_type="job"),
        "patient_token": ApiToken(user_id=patient.id, token_hash=f"{booking.id.hex}{'0' * 32}"),
        "outbox_message": Outbox(recipient_id=patient.id, template="booking_reminder",
                                 about={"booking_id": str(booking.id)}, dedup_key=f"test:{booking.id}"),
        "job_run": JobRun(job_id=f"job-{booking.id.hex[:12]}", runner="rq", started_at=clock.now(),
                          status="success"),
        "erasure_request": ErasureRequest(patient_id=patient.id),
        "intake_form": IntakeForm(specialist_id=specialist.id, questions=[]),
        "intake_response": IntakeResponse(patient_id=patient.id, specialist_id=specialist.id, answers={}),
        "consent_terms": ConsentTerms(body="Terms", version=1 + (db.session.scalar(
            sa.select(sa.func.max(ConsentTerms.version))) or 0)),
        "recording_consent": Consent(patient_id=patient.id, kind="recording", specialist_id=specialist.id),
        "terms_consent": Consent(patient_id=patient.id, kind="terms", terms_version=1),
    }
    db.session.add_all(row for row in rows.values() if row is not None)
    db.session.flush()
    rows["package_service"] = PackageService(package_id=rows["active_package"].id, service_id=rows["service"].id)
    db.session.add(rows["package_service"])
    rows["amendment"] = SessionNoteAmendment(note_id=note.id, author_id=specialist.id, text="addendum")
    db.session.add(rows["amendment"])
    rows["link_code"] = RecordingAccessCode(code_hash=booking.id.hex * 2, recording_id=rows["recording"].id,
                                            user_id=patient.id, expires_at=datetime.now(UTC))
    db.session.add(rows["link_code"])
    rows["access_row"] = RecordAccess(patient_id=patient.id, reader_id=specialist.id, reader_role="specialist",
                                      record_type="session_note", record_id=note.id, booking_id=booking.id,
                                      accessed_at=clock.now(), accessed_hour=clock.now().replace(minute=0))
    db.session.add(rows["access_row"])
    db.session.flush()
    return rows


@pytest.fixture
def world(users, make_booking):
    """The subject rows (patient with specialist) and their mirror (the other two)."""
    actors = dict(users, anonymous=AnonymousUserMixin())
    subject = build_party_rows(users["patient"], users["specialist"],
                               make_booking(users["patient"], users["specialist"]))
    build_party_rows(users["other_patient"], users["other_specialist"],
                     make_booking(users["other_patient"], users["other_specialist"]))
    return actors, subject


@pytest.mark.parametrize("subject_name", sorted(EXPECTATIONS))
def test_can_follows_the_access_table(world, subject_name):
    actors, subject = world
    model, expected = EXPECTATIONS[subject_name]
    row = subject[subject_name]
    assert isinstance(row, model)
    wrong = [
        f"{role} {'may' if allowed else 'may not'} {action} but policy says the opposite"
        for action, roles in expected.items()
        for role in ROLES
        if (allowed := role in roles) != policies.can(action, actors[role], row)
    ]
    assert wrong == []


@pytest.mark.parametrize("model", sorted({m for m, _ in EXPECTATIONS.values()}, key=lambda m: m.__name__),
                         ids=lambda m: m.__name__)
def test_visible_filter_returns_exactly_the_rows_one_may_view(world, model):
    actors, _ = world
    key = sa.inspect(model).primary_key[0]
    every_row = db.session.scalars(sa.select(model)).all()
    assert every_row
    for role in ROLES:
        user = actors[role]
        listed = set(db.session.scalars(sa.select(key).where(policies.visible(model, user))))
        viewable = {row_key(row) for row in every_row if policies.can("view", user, row)}
        assert listed == viewable, f"{role}: visible() and can('view') disagree on {model.__name__}"


def row_key(row):
    return sa.inspect(row).identity[0]


def test_a_deactivated_user_is_treated_as_signed_out(world):
    actors, subject = world
    patient = actors["patient"]
    patient.is_active = False
    assert not policies.can("view", patient, subject["booking"])
    assert not policies.can("update", patient, subject["patient_account"])
    assert db.session.scalars(sa.select(Booking.id).where(policies.visible(Booking, patient))).all() == []
    assert policies.can("view", patient, subject["active_package"])


def test_loaders_answer_404_outside_scope_and_403_for_visible_rows_one_may_not_change(world):
    from portal.errors import Forbidden, NotFound

    actors, subject = world
    booking = subject["booking"]
    assert policies.load(Booking, booking.id, actors["patient"]) is booking
    assert policies.load(Booking, str(booking.id), actors["admin"]) is booking
    for role, bad_id in [("other_patient", booking.id), ("ops", booking.id), ("patient", "not-a-uuid"),
                         ("patient", None), ("admin", "00000000-0000-0000-0000-000000000000")]:
        with pytest.raises(NotFound):
            policies.load(Booking, bad_id, actors[role])
    with pytest.raises(Forbidden):
        policies.load(Booking, booking.id, actors["patient"], action="delete")
    assert policies.load(Booking, booking.id, actors["specialist"], action="update") is booking


def test_the_loader_keeps_the_callers_message_field_and_code(world):
    from portal.errors import Forbidden, NotFound

    actors, subject = world
    booking = subject["booking"]
    with pytest.raises(NotFound) as missing:
        policies.load(Booking, booking.id, actors["other_patient"], missing="No such booking.",
                      fields={"booking_id": "Unknown booking."})
    assert (missing.value.message, missing.value.fields) == ("No such booking.", {"booking_id": "Unknown booking."})
    with pytest.raises(Forbidden) as unseen:
        policies.load(Booking, booking.id, actors["other_patient"], refused="Not your booking.", forbid_unseen=True)
    assert (unseen.value.code, unseen.value.message) == ("FORBIDDEN", "Not your booking.")
    with pytest.raises(NotFound):
        policies.load(Booking, "00000000-0000-0000-0000-000000000000", actors["admin"], forbid_unseen=True)


def test_unknown_actions_are_a_programming_error(world):
    actors, subject = world
    with pytest.raises(ValueError):
        policies.can("publish", actors["admin"], subject["booking"])
