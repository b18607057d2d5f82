"""Booking packages (spec section 2): access for every role, validation, pages and API."""
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.errors import Forbidden, ServiceError
from portal.extensions import db
from portal.models import AuditLog, BookingPackage
from portal.selectors.packages import packages_active_for
from portal.services.packages import package_create

GOOD = {"name": "Four weeks", "session_count": 4, "price": "320.00", "currency": "USD",
        "discount_percentage": 20, "valid_for_days": 30}


@pytest.fixture
def pkgs(users):
    """An active and an inactive package of `specialist`, an active one of `other_specialist`."""
    spec, other = users["specialist"], users["other_specialist"]
    active = package_create(actor=spec, specialist_id=spec.id, data=GOOD)
    hidden = package_create(actor=spec, specialist_id=spec.id, data={**GOOD, "name": "Old", "is_active": False})
    others = package_create(actor=other, specialist_id=other.id, data={**GOOD, "name": "Other's"})
    return {"active": active, "hidden": hidden, "others": others}


def names(response):
    return sorted(item["name"] for item in response.get_json()["items"])


@pytest.mark.parametrize("role, expected", [
    ("patient", ["Four weeks", "Other's"]),
    ("other_patient", ["Four weeks", "Other's"]),
    ("specialist", ["Four weeks", "Old", "Other's"]),
    ("other_specialist", ["Four weeks", "Other's"]),
    ("admin", ["Four weeks", "Old", "Other's"]),
    ("ops", ["Four weeks", "Other's"]),
])
def test_list_shows_active_packages_to_all_and_own_inactive_to_owner(client, users, pkgs, api_headers,
                                                                     role, expected):
    response = client.get("/api/v1/booking-packages", headers=api_headers(users[role]))
    assert response.status_code == 200
    assert names(response) == expected


def test_list_filters_by_specialist_and_active(client, users, pkgs, api_headers):
    headers = api_headers(users["specialist"])
    url = f"/api/v1/booking-packages?specialist_id={users['specialist'].id}&is_active=false"
    assert names(client.get(url, headers=headers)) == ["Old"]


def test_a_stranger_lists_and_reads_active_packages_only_and_changes_none(client, pkgs):
    # First request of the test: flask-login caches the user on `g` of the test's app context.
    assert names(client.get("/api/v1/booking-packages")) == ["Four weeks", "Other's"]
    assert client.get(f"/api/v1/booking-packages/{pkgs['hidden'].id}").status_code == 404
    assert client.patch(f"/api/v1/booking-packages/{pkgs['active'].id}", json={"name": "X"}).status_code == 401
    assert client.delete(f"/api/v1/booking-packages/{pkgs['active'].id}").status_code == 401


@pytest.mark.parametrize("role, status", [
    ("patient", 404), ("other_specialist", 404), ("ops", 404), ("specialist", 200), ("admin", 200),
])
def test_inactive_package_is_hidden_from_all_but_owner_and_admin(client, users, pkgs, api_headers,
                                                                 role, status):
    response = client.get(f"/api/v1/booking-packages/{pkgs['hidden'].id}", headers=api_headers(users[role]))
    assert response.status_code == status


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("other_patient", 403), ("other_specialist", 403), ("ops", 403),
    ("specialist", 200), ("admin", 200),
])
def test_only_owner_and_admin_change_a_package(client, users, pkgs, api_headers, role, status):
    package_id = pkgs["active"].id
    response = client.patch(f"/api/v1/booking-packages/{package_id}", json={"price": "300.00"},
                            headers=api_headers(users[role]))
    assert response.status_code == status
    db.session.expire_all()
    assert db.session.get(BookingPackage, package_id).price == Decimal("300.00" if status == 200 else "320.00")


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("other_specialist", 403), ("ops", 403), ("specialist", 204), ("admin", 204),
])
def test_only_owner_and_admin_delete_a_package(client, users, pkgs, api_headers, role, status):
    package_id = pkgs["active"].id
    response = client.delete(f"/api/v1/booking-packages/{package_id}", headers=api_headers(users[role]))
    assert response.status_code == status
    db.session.expire_all()
    assert (db.session.get(BookingPackage, package_id) is None) == (status == 204)


@pytest.mark.parametrize("role, status", [
    ("patient", 403), ("ops", 403), ("specialist", 201), ("admin", 201),
])
def test_create_through_api(client, users, api_headers, role, status):
    body = {**GOOD, "specialist_id": str(users["specialist"].id)}
    response = client.post("/api/v1/booking-packages", json=body, headers=api_headers(users[role]))
    assert response.status_code == status
    if status == 201:
        data = response.get_json()
        assert data["price_per_session"] == "80.00"
        assert data["saving_vs_rate"] == "80.00"  # 4 x 100.00 rate - 320.00


def test_specialist_cannot_create_for_someone_else(client, users, api_headers):
    body = {**GOOD, "specialist_id": str(users["other_specialist"].id)}
    response = client.post("/api/v1/booking-packages", json=body, headers=api_headers(users["specialist"]))
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingPackage)) == 0


@pytest.mark.parametrize("field, value", [
    ("name", ""), ("name", "   "), ("session_count", 0), ("session_count", "2.5"), ("price", "-1"),
    ("price", "10.005"), ("price", "abc"), ("discount_percentage", 101), ("discount_percentage", -1),
    ("valid_for_days", 0), ("currency", "XYZ"), ("currency", "dollars"), ("price", "NaN"),
    ("discount_percentage", "12.345"), ("price", "100000000"), ("description", "x" * 5001),
    ("description", 42),
])
def test_validation_errors_name_the_field(client, users, api_headers, field, value):
    response = client.post("/api/v1/booking-packages", json={**GOOD, field: value},
                           headers=api_headers(users["specialist"]))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "INVALID_REQUEST" and field in body["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingPackage)) == 0


def test_empty_validity_means_no_limit_and_currency_is_normalised(users):
    spec = users["specialist"]
    package = package_create(actor=spec, specialist_id=spec.id,
                             data={**GOOD, "valid_for_days": "", "currency": "eur"})
    assert (package.valid_for_days, package.currency) == (None, "EUR")


def test_service_refuses_patient_and_audits_changes(users):
    with pytest.raises(Forbidden):
        package_create(actor=users["patient"], specialist_id=users["specialist"].id, data=GOOD)
    with pytest.raises(ServiceError):
        package_create(actor=users["admin"], specialist_id=users["patient"].id, data=GOOD)
    package = package_create(actor=users["admin"], specialist_id=users["specialist"].id, data=GOOD)
    actions = db.session.scalars(sa.select(AuditLog.action).where(AuditLog.entity_id == str(package.id)))
    assert list(actions) == ["package_created"]


def test_selector_lists_only_active_packages(users, pkgs):
    assert [p.name for p in packages_active_for(users["specialist"].id)] == ["Four weeks"]


def test_specialist_page_creates_in_place_and_shows_pricing(client, users, login_as):
    login_as(users["specialist"])
    response = client.post("/specialist/packages", data={**GOOD, "price": "360"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="packages-panel"' in html and "<html" not in html
    assert "90.00 USD" in html          # per session
    assert "10.0% (saves 40.00 USD)" in html  # against 4 x 100.00
    assert db.session.scalar(sa.select(BookingPackage.discount_percentage)) == Decimal("10.0")


def test_the_discount_follows_the_price_so_the_two_cannot_disagree(client, users, login_as, api_headers):
    """The page has no discount field; the API's discount is replaced by the one the price gives
    wherever the specialist's rate (100.00 USD) compares, and kept where none does."""
    login_as(users["specialist"])
    page = client.get("/specialist/packages?new=1").get_data(as_text=True)
    assert 'name="discount_percentage"' not in page
    created = client.post("/api/v1/booking-packages", headers=api_headers(users["specialist"]), json={
        **GOOD, "price": "320.00", "discount_percentage": 25}).get_json()
    assert created["discount_percentage"] in (20, "20.0", "20.00", 20.0)
    client.post(f"/specialist/packages/{created['id']}", data={**GOOD, "price": "360"})
    package = db.session.get(BookingPackage, uuid.UUID(created["id"]))
    db.session.refresh(package)
    assert package.discount_percentage == Decimal("10.0")
    shown = client.get("/specialist/packages").get_data(as_text=True)
    listed = shown.split(package.name)[1].split("</li>")[0]
    assert "10.0% (saves 40.00 USD)" in shown and "25%" not in listed and "25.0" not in listed
    euros = client.post("/api/v1/booking-packages", headers=api_headers(users["specialist"]), json={
        **GOOD, "currency": "EUR", "discount_percentage": 15}).get_json()
    assert float(euros["discount_percentage"]) == 15.0


def test_specialist_page_shows_form_errors_and_keeps_values(client, users, login_as):
    login_as(users["specialist"])
    response = client.post("/specialist/packages", data={**GOOD, "name": "Keep me", "session_count": "0"},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "A package has at least 1 session." in html and 'value="Keep me"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingPackage)) == 0


def test_a_description_too_long_is_refused_in_the_form_not_cut_short(client, users, login_as):
    login_as(users["specialist"])
    long_text = "Four sessions.\n" + "y" * 5000
    response = client.post("/specialist/packages", data={**GOOD, "description": long_text},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Use at most 5,000 characters." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingPackage)) == 0


def test_specialist_page_edits_deactivates_and_deletes(client, users, pkgs, login_as):
    login_as(users["specialist"])
    package_id = pkgs["active"].id
    form = client.get(f"/specialist/packages?edit={package_id}", headers={"HX-Request": "true"})
    assert 'value="Four weeks"' in form.get_data(as_text=True)
    client.post(f"/specialist/packages/{package_id}", data={**GOOD, "name": "Renamed"})
    client.post(f"/specialist/packages/{package_id}/active", data={"active": "0"})
    db.session.expire_all()
    package = db.session.get(BookingPackage, package_id)
    assert (package.name, package.is_active) == ("Renamed", False)
    response = client.post(f"/specialist/packages/{package_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(BookingPackage, package_id) is None


def test_specialist_page_cannot_touch_another_specialists_package(client, users, pkgs, login_as):
    login_as(users["other_specialist"])
    assert client.post(f"/specialist/packages/{pkgs['hidden'].id}/delete").status_code == 404
    assert client.post(f"/specialist/packages/{pkgs['active'].id}/delete").status_code == 403
    assert client.post(f"/specialist/packages/{pkgs['active'].id}", data=GOOD).status_code == 403


@pytest.mark.parametrize("role, status", [("admin", 200), ("ops", 403), ("specialist", 403), ("patient", 403)])
def test_admin_packages_page(client, users, pkgs, login_as, role, status):
    login_as(users[role])
    response = client.get("/admin/packages")
    assert response.status_code == status
    if status == 200:
        html = response.get_data(as_text=True)
        assert "Old" in html and "Other&#39;s" in html and "Spec Two" in html


def test_admin_creates_for_a_chosen_specialist(client, users, login_as):
    login_as(users["admin"])
    client.post("/admin/packages", data={**GOOD, "specialist_id": str(users["other_specialist"].id)})
    package = db.session.scalar(sa.select(BookingPackage))
    assert package.specialist_id == users["other_specialist"].id


def test_patient_specialist_page_lists_only_active_packages_with_pricing(client, users, pkgs, login_as):
    login_as(users["patient"])
    html = client.get(f"/specialists/{users['specialist'].id}").get_data(as_text=True)
    assert "Four weeks" in html and "80.00 USD per session" in html and "Save 20.0%" in html
    assert "Old" not in html and "Other&#39;s" not in html


@pytest.mark.parametrize("field, value, message", [
    ("price", "-1", "The price cannot be negative."), ("price", "10.005", "Use at most two decimals."),
    ("discount_percentage", "100.5", "The discount lies between 0 and 100."),
    ("discount_percentage", "12.345", "Use at most two decimals."), ("price", "abc", "Enter a number."),
])
def test_money_fields_say_what_is_wrong(field, value, message):
    from portal.errors import ServiceError
    from portal.services.packages import package_validate

    with pytest.raises(ServiceError) as refused:
        package_validate({**GOOD, field: value})
    assert refused.value.fields == {field: message}
    assert package_validate({**GOOD, "price": "99.5", "discount_percentage": ""})["discount_percentage"] == 0
