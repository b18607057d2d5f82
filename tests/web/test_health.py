"""/healthz and Sentry: what ops rely on when something goes wrong."""
import json
from typing import ClassVar

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from portal import create_app
from portal.extensions import db
from tests.conftest import make_test_config


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok",
                                   "redis": "not configured (jobs run in-process)", "rate_limits": "ok",
                                   "off": []}


def test_healthz_is_degraded_and_names_what_is_off_while_redis_is_unreachable(database_url, instance_dir, _app):
    config = make_test_config(database_url, instance_dir)
    config.update(REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    app = create_app(config)
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 200  # the portal still serves
        assert response.get_json() == {
            "status": "degraded", "database": "ok", "redis": "unavailable", "rate_limits": "unavailable",
            "off": ["job queue", "sign-in throttle", "write limits", "booking limits"]}
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_names_the_limits_as_off_when_only_their_storage_is_unreachable(
        database_url, instance_dir, _app):
    config = make_test_config(database_url, instance_dir)
    config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"
    app = create_app(config)
    try:
        body = app.test_client().get("/healthz").get_json()
        assert (body["status"], body["redis"], body["off"]) == (
            "degraded", "not configured (jobs run in-process)", ["sign-in throttle", "write limits", "booking limits"])
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_with_real_redis(database_url, instance_dir, _app, redis_url):
    config = make_test_config(database_url, instance_dir)
    config["REDIS_URL"] = redis_url
    app = create_app(config)
    try:
        body = app.test_client().get("/healthz").get_json()
        assert (body["status"], body["redis"], body["rate_limits"], body["off"]) == ("ok", "ok", "ok", [])
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_answers_503_when_the_database_is_down(tmp_path):
    config = make_test_config("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2", tmp_path)
    app = create_app(config)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"
    with app.app_context():
        db.engine.dispose()


class CapturingTransport(Transport):
    envelopes: ClassVar[list] = []

    def capture_envelope(self, envelope):
        CapturingTransport.envelopes.append(envelope)


@pytest.fixture
def sentry_app(database_url, instance_dir, _app, monkeypatch):
    CapturingTransport.envelopes = []
    config = make_test_config(database_url, instance_dir)
    config.update(SENTRY_DSN="https://key@example.invalid/1", SENTRY_TRANSPORT=CapturingTransport,
                  SENTRY_RELEASE="portal@1.2.3", ENV_NAME="staging", TESTING=False)
    app = create_app(config)

    @app.route("/boom", methods=["POST"])
    def boom():
        from flask import request

        raise RuntimeError("could not cancel for " + request.form["email"])

    yield app
    sentry_sdk.init()  # no DSN: later tests send nothing anywhere
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sentry_events_carry_who_but_not_what(committed_db, sentry_app):
    from portal.services.users import user_create

    user = user_create(email="pat@example.test", password="long-password", role="patient")
    db.session.commit()
    client = sentry_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    response = client.post("/boom?email=pat@example.test", data={
        "reason": "Panic attacks since the accident", "email": "pat@example.test",
        "password": "hunter2-secret", "notes": "Session note text"})
    assert response.status_code == 500
    sentry_sdk.flush()
    events = [item.payload.json for env in CapturingTransport.envelopes for item in env.items
              if item.type == "event"]
    assert len(events) == 1
    event = events[0]
    assert event["user"] == {"id": str(user.id), "role": "patient"}
    assert event["environment"] == "staging" and event["release"] == "portal@1.2.3"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    text = json.dumps(event)
    for secret in ("Panic attacks", "pat@example.test", "hunter2-secret", "Session note text"):
        assert secret not in text, text[max(0, text.find(secret) - 300):text.find(secret) + 50]
