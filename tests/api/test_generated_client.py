"""A client generated from /api/v1/openapi.json by openapi-python-client, used for one journey
without a line of hand-written HTTP: list specialists, read slots, book, cancel through the spec's
booking-cancel function, read the cancellation."""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from datetime import date, time, timedelta
from pathlib import Path

import pytest
import requests

from portal.extensions import db
from portal.models import SpecialistRate, WorkingHours
from tests.conftest import DEFAULT_PASSWORD

PACKAGE = "portal_api_client"


def _generate(document_url: str, where: Path):
    """The generated package, imported. No post-generation hooks: the test needs the code, not its
    formatting, and ruff may be missing from PATH."""
    (where / "openapi.json").write_bytes(requests.get(document_url, timeout=30).content)
    (where / "config.yml").write_text("post_hooks: []\n")
    generator = shutil.which("openapi-python-client") or str(Path(sys.executable).with_name("openapi-python-client"))
    subprocess.run([generator, "generate", "--path", str(where / "openapi.json"), "--config", str(where / "config.yml"),
                    "--output-path", str(where / PACKAGE), "--meta", "none"],
                   check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def _committed_people():
    from portal.services.users import api_token_create, user_create

    patient = user_create(email="client-patient@example.test", password=DEFAULT_PASSWORD, role="patient")
    specialist = user_create(email="client-specialist@example.test", password=DEFAULT_PASSWORD, role="specialist",
                             display_name="Dr Generated")
    for weekday in range(7):
        db.session.add(WorkingHours(specialist_id=specialist.id, weekday=weekday, start_time=time(9),
                                    end_time=time(17)))
    db.session.add(SpecialistRate(specialist_id=specialist.id, duration_minutes=60, price=80, currency="EUR",
                                  effective_from=date(2000, 1, 1)))
    token = api_token_create(user=patient, name="generated client")
    db.session.commit()
    return specialist.id, token


@pytest.fixture
def client_package(live_server, tmp_path):
    """The package generated from the live server's document; forgotten afterwards."""
    yield _generate(f"{live_server}/api/v1/openapi.json", tmp_path)
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        sys.modules.pop(name)


def test_a_generated_client_books_and_cancels_through_the_function(live_server, client_package):
    specialist_id, token = _committed_people()
    base_url = live_server
    from portal_api_client.api.api_bookings import get_api_v1_bookings_booking_id, post_api_v1_bookings
    from portal_api_client.api.api_specialists import (
        get_api_v1_specialists,
        get_api_v1_specialists_specialist_id_slots,
    )
    from portal_api_client.api.functions import post_functions_booking_cancel
    from portal_api_client.models import BookingCancelRequest, BookingCreate, FunctionResult

    api = client_package.AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    with api:
        listed = get_api_v1_specialists.sync(client=api, q="Generated")
        assert [s.id for s in listed.items] == [specialist_id]

        start = date.today() + timedelta(days=3)
        slots = get_api_v1_specialists_specialist_id_slots.sync(specialist_id, client=api, from_=start,
                                                                to=start + timedelta(days=6))
        assert slots, "the specialist works every day from 09:00"
        booking = post_api_v1_bookings.sync(client=api, body=BookingCreate(specialist_id=specialist_id,
                                                                           starts_at=slots[0].starts_at))
        assert booking.status == "confirmed" and booking.starts_at == slots[0].starts_at

        answer = post_functions_booking_cancel.sync(
            client=api, body=BookingCancelRequest(booking_id=booking.id, reason="Moving house"))
        assert isinstance(answer, FunctionResult) and answer.success is True
        assert answer.message.startswith("Booking cancelled successfully")

        again = post_functions_booking_cancel.sync_detailed(
            client=api, body=BookingCancelRequest(booking_id=booking.id, reason="Twice"))
        assert again.status_code == 409 and again.parsed.error == "ALREADY_CANCELLED"

        read = get_api_v1_bookings_booking_id.sync(booking.id, client=api)
        assert read.status == "cancelled"
        assert read.cancellation.reason == "Moving house"
