"""flask --app wsgi users create / users token / seed-demo."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import (
    AvailabilityException,
    Booking,
    BookingPackage,
    SpecialistProfile,
    SpecialistRate,
    User,
    WorkingHours,
)
from portal.services.users import user_by_email


@pytest.mark.parametrize("role", ["patient", "specialist", "admin", "ops"])
def test_users_create_prints_the_new_id_for_each_role(runner, role):
    result = runner.invoke(args=["users", "create", "--email", f"New.{role}@Example.test",
                                 "--password", "long-enough-pw", "--role", role, "--name", "New Person",
                                 "--timezone", "Europe/Paris"])
    assert result.exit_code == 0, result.output
    user_id = uuid.UUID(result.output.strip().splitlines()[-1])
    user = db.session.get(User, user_id)
    assert (user.role, user.display_name, user.timezone) == (role, "New Person", "Europe/Paris")
    assert user_by_email(f"new.{role}@example.test") is user
    profile = db.session.get(SpecialistProfile, user_id)
    assert (profile is not None) == (role == "specialist")


@pytest.mark.parametrize("args, message", [
    (["--role", "wizard"], "Invalid value for '--role'"),
    (["--role", "patient", "--timezone", "Mars/Olympus"], "Unknown time zone"),
    (["--role", "patient", "--password", "short"], "at least 8 characters"),
])
def test_users_create_refuses_bad_input_clearly(runner, args, message):
    base = ["users", "create", "--email", "bad@example.test", "--password", "long-enough-pw"]
    result = runner.invoke(args=base + args)
    assert result.exit_code != 0
    assert message in result.output
    assert user_by_email("bad@example.test") is None


def test_users_create_refuses_a_duplicate_email_whatever_its_case(runner, users):
    result = runner.invoke(args=["users", "create", "--email", users["patient"].email.upper(),
                                 "--password", "long-enough-pw", "--role", "patient"])
    assert result.exit_code != 0
    assert "An account with this e-mail already exists." in result.output
    count = db.session.scalar(sa.select(sa.func.count()).select_from(User)
                              .where(User.email_normalized == users["patient"].email.lower()))
    assert count == 1


def test_users_token_prints_a_working_token_alone_on_the_last_line(runner, client, users):
    result = runner.invoke(args=["users", "token", users["specialist"].email])
    assert result.exit_code == 0, result.output
    token = result.output.rstrip("\n").splitlines()[-1]
    assert token == token.strip() and " " not in token
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["id"] == str(users["specialist"].id)


def test_users_token_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "nobody@example.test"])
    assert result.exit_code != 0 and "No user with e-mail" in result.output


def row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_seed_demo_fills_a_realistic_clinic_and_twice_changes_nothing(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.clinic" in first.output and "demo-password" in first.output
    after_first = row_counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert row_counts() == after_first

    specialists = db.session.scalars(sa.select(User).where(User.role == "specialist")).all()
    assert len(specialists) >= 3
    for model in (SpecialistRate, WorkingHours, BookingPackage, AvailabilityException):
        owners = set(db.session.scalars(sa.select(model.specialist_id)))
        assert owners == {s.id for s in specialists}, model.__name__
    demo_patient = user_by_email("patient@demo.clinic")
    now = clock.now()
    past = db.session.scalar(sa.select(sa.func.count()).select_from(Booking)
                             .where(Booking.patient_id == demo_patient.id, Booking.starts_at < now))
    upcoming = db.session.scalar(sa.select(sa.func.count()).select_from(Booking)
                                 .where(Booking.patient_id == demo_patient.id, Booking.starts_at > now))
    assert past >= 1 and upcoming >= 1
    for role in ("patient", "specialist", "admin", "ops"):
        assert user_by_email(f"{role}@demo.clinic").role == role


def _cli_token(runner, email, *options):
    result = runner.invoke(args=["users", "token", email, *options])
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n").splitlines()[-1]


def test_users_token_expires_days_sets_the_expiry(runner, client, users):
    from datetime import timedelta

    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import ApiToken, utcnow

    token = _cli_token(runner, users["patient"].email, "--name", "nightly", "--expires-days", "7")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "nightly"))
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=5)
    assert runner.invoke(args=["users", "token", users["patient"].email, "--expires-days", "0"]).exit_code != 0


def test_users_revoke_token_by_name_and_all(runner, client, users):
    email = users["patient"].email
    nightly, other, third = (_cli_token(runner, email, "--name", n) for n in ("nightly", "other", "third"))
    result = runner.invoke(args=["users", "revoke-token", email, "--name", "nightly"])
    assert result.exit_code == 0 and "Revoked 1 token of" in result.output

    def status(token):
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert (status(nightly), status(other), status(third)) == (401, 200, 200)
    result = runner.invoke(args=["users", "revoke-token", email, "--all"])
    assert result.exit_code == 0 and "Revoked 2 tokens" in result.output
    assert (status(other), status(third)) == (401, 401)
    assert runner.invoke(args=["users", "revoke-token", email]).exit_code != 0  # neither --name nor --all
    assert runner.invoke(args=["users", "revoke-token", "nobody@example.test", "--all"]).exit_code != 0
