"""The .ics invitation's organizer: a bare address after mailto:, the display name in CN."""
from __future__ import annotations

import pytest
from icalendar import Calendar

from portal.services.ics import booking_invitation


@pytest.mark.parametrize("mail_from, address, name", [
    ("Riverside Clinic <clinic@example.test>", "mailto:clinic@example.test", "Riverside Clinic"),
    ('"Clinic, Riverside" <clinic@example.test>', "mailto:clinic@example.test", "Clinic, Riverside"),
    ("clinic@example.test", "mailto:clinic@example.test", "Clinic portal"),
])
@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_the_organizer_is_the_address_alone_with_the_name_as_cn(app, users, make_booking, monkeypatch,
                                                                 mail_from, address, name, method):
    monkeypatch.setitem(app.config, "MAIL_FROM", mail_from)
    booking = make_booking(users["patient"], users["specialist"])
    _, _, data = booking_invitation(booking, method=method)
    assert b"<" not in data and b"&lt;" not in data
    [event] = Calendar.from_ical(data).walk("VEVENT")
    organizer = event["organizer"]
    assert str(organizer) == address and organizer.params["CN"] == name
