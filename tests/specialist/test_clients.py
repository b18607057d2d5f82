"""/specialist/clients: the patients a specialist has seen or will see, and each one's record with them."""
from __future__ import annotations

from datetime import timedelta

from portal import clock
from portal.extensions import db
from portal.models import PackageEnrolment, SessionNote


def test_the_list_holds_only_the_specialists_own_patients_with_last_and_next(login_as, users, make_booking):
    spec = users["specialist"]
    make_booking(users["patient"], spec, clock.now() - timedelta(days=7))
    make_booking(users["patient"], spec, clock.now() + timedelta(days=7))
    make_booking(users["other_patient"], users["other_specialist"], clock.now() + timedelta(days=1))
    html = login_as(spec).get("/specialist/clients").text
    assert "Pat One" in html and "Pat Two" not in html and "1 client" in html
    row = html[html.index(f'id="client-{users["patient"].id}"'):]
    assert '<td class="num">2</td>' in row[:600]
    assert "No client matches" in login_as(spec).get("/specialist/clients", query_string={"q": "zzz"}).text


def test_a_clients_page_shows_bookings_notes_and_packages_with_this_specialist_only(login_as, users, make_booking):
    spec, patient = users["specialist"], users["patient"]
    seen = make_booking(patient, spec, clock.now() - timedelta(days=7))
    elsewhere = make_booking(patient, users["other_specialist"], clock.now() - timedelta(days=3))
    db.session.add(SessionNote(booking_id=seen.id, provider_id=spec.id, notes="Sleeping better"))
    db.session.add(PackageEnrolment(patient_id=patient.id, specialist_id=spec.id, package_name="Five sessions",
                                    status="active", credits_total=5, credits_used=1, price=400, currency="USD",
                                    starts_on=clock.today()))
    db.session.commit()
    html = login_as(spec).get(f"/specialist/clients/{patient.id}").text
    assert f"booking-{seen.id}" in html and f"booking-{elsewhere.id}" not in html
    assert "Sleeping better" in html and "Five sessions" in html
    stranger = users["other_patient"]
    assert login_as(users["other_specialist"]).get(f"/specialist/clients/{stranger.id}").status_code == 404
    assert login_as(patient).get("/specialist/clients").status_code in (403, 404)
