"""Refused actions leave a failure row in the audit trail and change nothing else."""
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLog, BookingPackage


def failure_rows(users):
    """This test's refusals: rows other tests committed (refusals are audited in a transaction of
    their own) belong to their own users."""
    db.session.expire_all()
    ids = [user.id for user in users.values()]
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.status == "failure",
                                                        AuditLog.actor_id.in_(ids))).all()


def test_refused_api_change_is_audited_without_the_input(client, users, api_headers):
    specialist = users["specialist"]
    response = client.post("/api/v1/booking-packages", headers=api_headers(specialist), json={
        "specialist_id": str(specialist.id), "name": "Secret name", "session_count": 4,
        "price": "100.00", "currency": "USD", "discount_percentage": "140"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingPackage)) == 0
    [row] = failure_rows(users)
    assert row.actor_id == specialist.id
    assert row.action.startswith("refused_")
    assert "discount_percentage" in row.new_values["fields"]
    assert "Secret name" not in str(row.new_values)


def test_refused_cancel_is_audited_once(client, users, login_as, make_booking):
    booking = make_booking(users["patient"], users["specialist"])
    login_as(users["other_patient"])
    response = client.post("/functions/booking-cancel", json={"booking_id": str(booking.id),
                                                               "reason": "not mine"})
    assert response.status_code == 403
    assert len(failure_rows(users)) == 1


def test_reads_that_find_nothing_are_not_audited(client, users, login_as):
    login_as(users["patient"])
    assert client.get("/bookings/00000000-0000-0000-0000-000000000000").status_code == 404
    assert failure_rows(users) == []


def test_raising_records_nothing_and_the_handler_notes_each_refusal_once(app):
    from flask import g

    from portal.errors import ServiceError
    from portal.web.refusals import note_refusal

    with app.test_request_context("/", method="POST"):
        error = ServiceError("No.")
        assert "refusals" not in g
        note_refusal(error)
        note_refusal(error)  # a view that re-raises to the error handler
        assert g.refusals == [error]
