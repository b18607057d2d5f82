import pytest
import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.models import AuditLog, SpecialistProfile, User
from tests.conftest import DEFAULT_PASSWORD


@pytest.fixture(autouse=True)
def keep_fixture_rows(users):
    """A refused change rolls the request back: commit (to the test's savepoint) what came before."""
    db.session.commit()


def audit_rows(action):
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)).all()


def test_admin_searches_users_paginated(login_as, users, client, make_user):
    for i in range(30):
        make_user("patient", email=f"bulk{i:02d}@example.test", name=f"Bulk {i:02d}")
    login_as(users["admin"])
    html = client.get("/admin/users?q=bulk").get_data(as_text=True)
    assert "30 users" in html and "Page 1 of 2" in html and "bulk00@example.test" in html
    html = client.get("/admin/users?q=bulk&page=2").get_data(as_text=True)
    assert "bulk29@example.test" in html and "bulk00@example.test" not in html
    html = client.get("/admin/users?role=ops").get_data(as_text=True)
    assert "Otto Ops" in html and "Bulk" not in html
    assert client.get("/admin/users?page=x").status_code == 200


@pytest.mark.parametrize("role", ["patient", "specialist", "ops"])
def test_only_admins_manage_users(login_as, users, client, role):
    login_as(users[role])
    assert client.get("/admin/users").status_code == 403
    target = users["other_patient"]
    assert client.post(f"/admin/users/{target.id}/active", data={"active": "0"}).status_code == 403
    db.session.expire_all()
    assert target.is_active


def test_change_role_is_audited_and_returns_the_row(login_as, users, client):
    login_as(users["admin"])
    target = users["patient"]
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "specialist"},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="user-{target.id}"') and 'value="specialist" selected' in html
    db.session.expire_all()
    assert db.session.get(User, target.id).role == "specialist"
    assert db.session.get(SpecialistProfile, target.id) is not None
    row, = audit_rows("user_role_changed")
    assert (row.actor_id, row.old_values, row.new_values) == (users["admin"].id, {"role": "patient"},
                                                             {"role": "specialist"})


def test_admin_cannot_demote_or_deactivate_themselves(login_as, users, client):
    admin = users["admin"]
    login_as(admin)
    html = client.post(f"/admin/users/{admin.id}/role", data={"role": "patient"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "cannot change your own role" in html
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert admin.role == "admin" and admin.is_active
    bad = client.post(f"/admin/users/{users['patient'].id}/role", data={"role": "king"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Unknown role" in bad


def test_deactivated_user_cannot_sign_in_and_tokens_end_for_good(app, login_as, users, client, api_headers):
    target = users["patient"]
    headers = api_headers(target)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    g.pop("_login_user", None)
    login_as(users["admin"])
    client.post(f"/admin/users/{target.id}/active", data={"active": "0"})
    g.pop("_login_user", None)
    row, = audit_rows("user_deactivated")
    assert row.new_values == {"is_active": False} and row.entity_id == str(target.id)

    fresh = app.test_client()
    assert fresh.get("/api/v1/me", headers=headers).status_code == 401
    g.pop("_login_user", None)
    response = fresh.post("/login", data={"email": target.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400 and "E-mail or password is not right" in response.get_data(as_text=True)
    g.pop("_login_user", None)
    with fresh.session_transaction() as session:  # an old session stops loading too
        session["_user_id"] = str(target.id)
    assert fresh.get("/patient/").status_code == 302

    g.pop("_login_user", None)
    login_as(users["admin"])
    client.post(f"/admin/users/{target.id}/active", data={"active": "1"})
    g.pop("_login_user", None)
    assert fresh.get("/api/v1/me", headers=headers).status_code == 401  # revoked for good
    assert len(audit_rows("user_activated")) == 1


def test_the_service_refuses_an_admin_demoting_or_deactivating_themselves(users):
    from portal.errors import Forbidden
    from portal.services.user_admin import user_set_active, user_set_role

    admin = users["admin"]
    with pytest.raises(Forbidden, match="cannot deactivate your own account") as deactivating:
        user_set_active(actor=admin, user_id=admin.id, active=False)
    with pytest.raises(Forbidden, match="cannot change your own role") as demoting:
        user_set_role(actor=admin, user_id=admin.id, role="patient")
    assert deactivating.value.code == demoting.value.code == "SELF_CHANGE"
    db.session.expire_all()
    assert admin.role == "admin" and admin.is_active


def test_each_row_offers_one_manage_and_the_admins_own_row_no_change(login_as, users, client):
    admin, patient = users["admin"], users["patient"]
    login_as(admin)
    html = client.get("/admin/users").get_data(as_text=True)
    own = html.split(f'id="user-{admin.id}"')[1].split("</tr>")[0]
    other = html.split(f'id="user-{patient.id}"')[1].split("</tr>")[0]
    assert own.count(">Manage<") == other.count(">Manage<") == 1
    assert "/active" not in own and "/role" not in own and "another administrator" in own
    assert f"/admin/users/{patient.id}/deactivate" in other and "btn-danger\"" not in other  # no red button


def test_deactivation_asks_first_then_posts_and_says_what_it_did(login_as, users, client):
    patient = users["patient"]
    login_as(users["admin"])
    asking = client.get(f"/admin/users/{patient.id}/deactivate", headers={"HX-Request": "true"})
    row = asking.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="user-{patient.id}"')
    assert f"Deactivate {patient.display_name}?" in row and 'name="active" value="0"' in row
    db.session.expire_all()
    assert patient.is_active  # asking changed nothing
    page = client.get(f"/admin/users/{patient.id}/deactivate").get_data(as_text=True)  # without JavaScript
    assert f"Deactivate {patient.display_name}?" in page and "<html" in page
    done = client.post(f"/admin/users/{patient.id}/active", data={"active": "0"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"{patient.display_name} is deactivated: signed out everywhere, API tokens revoked." in done
    db.session.expire_all()
    assert not patient.is_active
