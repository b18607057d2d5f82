"""An admin attaches a recording on the booking page; the patient's browser plays it through
the audited, cookie-bound stream (seeking with a range), and the stored file is ciphertext."""
import base64
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import AuditLog, Booking, Consent, MeetingRecording
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(200_000)
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/recordings-shots"))

FETCH = """async ([url, range]) => {
  const response = await fetch(url, {headers: range ? {Range: range} : {}});
  const bytes = new Uint8Array(await response.arrayBuffer());
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return {status: response.status, url: response.url, body: btoa(binary)};
}"""


@pytest.fixture
def people(create_committed_user):
    specialist = create_committed_user("specialist", "spec-rec@browser.test", display_name="Dr Reel")
    patient = create_committed_user("patient", "pat-rec@browser.test", display_name="Pat Reel")
    create_committed_user("admin", "admin-rec@browser.test", display_name="Ada Reel")
    starts = (datetime.now(UTC) - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    booking = Booking(patient_id=patient.id, specialist_id=specialist.id, starts_at=starts,
                      ends_at=starts + timedelta(hours=1), status="completed", price=Decimal("100.00"),
                      currency="USD")
    db.session.add(booking)
    db.session.add(Consent(patient_id=patient.id, kind="recording", specialist_id=specialist.id))
    db.session.commit()
    return patient, booking


def test_admin_attaches_and_the_patient_plays_an_encrypted_recording(browser, live_server, page, people):
    patient, booking = people
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, "admin-rec@browser.test")
    page.goto(f"/bookings/{booking.id}")
    expect(page.locator("#recording-expires-help")).to_contain_text("90 days after the session")
    page.set_input_files("#recording-file", files=[{"name": "call.mp4", "mimeType": "video/mp4", "buffer": VIDEO}])
    page.click("#booking-recordings button:has-text('Upload')")
    expect(page.locator(".flash-success")).to_contain_text("Recording attached")
    db.session.rollback()
    recording = db.session.scalar(sa.select(MeetingRecording))
    assert recording.is_encrypted
    stored = (Path(live_server_app_dir()) / recording.storage_path).read_bytes()
    assert VIDEO[100:200] not in stored

    for width, height, name in ((1280, 900, "desktop"), (375, 800, "phone")):
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height})
        patient_page = context.new_page()
        try:
            sign_in(patient_page, "pat-rec@browser.test")
            patient_page.goto(f"/bookings/{booking.id}")
            player = patient_page.locator("video.recording-player")
            expect(player).to_have_attribute("src", f"/bookings/recordings/{recording.id}/watch")
            whole = patient_page.evaluate(FETCH, [f"/bookings/recordings/{recording.id}/watch", None])
            assert whole["status"] == 200 and whole["url"].endswith(f"/bookings/recordings/{recording.id}/stream")
            assert base64.b64decode(whole["body"]) == VIDEO
            seek = patient_page.evaluate(FETCH, [f"/bookings/recordings/{recording.id}/stream", "bytes=70000-70999"])
            assert seek["status"] == 206 and base64.b64decode(seek["body"]) == VIDEO[70000:71000]
            no_scroll = patient_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert no_scroll
            patient_page.locator("#booking-recordings").scroll_into_view_if_needed()
            patient_page.screenshot(path=str(SHOTS / f"recording-{name}.png"), full_page=True)
        finally:
            context.close()
    db.session.rollback()
    actions = list(db.session.scalars(sa.select(AuditLog.action).where(AuditLog.actor_id == patient.id,
                                                                       AuditLog.action.like("recording_%"))))
    assert sorted(actions).count("recording_link_created") >= 2
    assert "recording_stream_started" in actions


def live_server_app_dir() -> str:
    from flask import current_app

    return current_app.config["RECORDINGS_DIR"]
