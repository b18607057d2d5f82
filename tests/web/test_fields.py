"""The time-zone choice on every form that asks for one: canonical zones grouped by region,
older stored names shown (and saved) as the zone they stand for, the rest kept selectable."""
from __future__ import annotations

import json
import re

import pytest

from portal.extensions import db


def options_by_group(page: str) -> dict[str, list[str]]:
    select = re.search(r'<select[^>]*name="timezone".*?</select>', page, re.S).group(0)
    groups = {}
    for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S):
        groups[label] = re.findall(r'<option[^>]*value="([^"]+)"', body)
    return groups


def selected_zone(page: str) -> str:
    select = re.search(r'<select[^>]*name="timezone".*?</select>', page, re.S).group(0)
    return re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', select).group(
        1) or ""


def selected_zones(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="timezone".*?</select>', page, re.S).group(0)
    return re.findall(r'<option selected value="([^"]+)"', select)


@pytest.fixture
def pages(client, users, login_as):
    def page(name: str) -> str:
        if name == "signup":
            return client.get("/signup").text
        login_as(users["admin"] if name == "invite" else users["patient"])
        return client.get("/admin/users" if name == "invite" else "/account").text
    return page


@pytest.mark.parametrize("name", ["signup", "account", "invite"])
def test_every_zone_choice_offers_canonical_zones_grouped_by_region(pages, name):
    groups = options_by_group(pages(name))
    assert list(groups)[:2] == ["UTC", "Africa"] and groups["UTC"] == ["UTC"]
    assert "Europe/Stockholm" in groups["Europe"] and "America/New_York" in groups["America"]
    offered = {zone for zones in groups.values() for zone in zones}
    assert not {"Factory", "GB-Eire", "GMT+0", "US/Eastern", "Etc/GMT+5"} & offered
    assert len(offered) < 450


def test_the_signup_page_preselects_the_browsers_zone_with_older_names_mapped(client):
    page = client.get("/signup").text
    select = re.search(r"<select[^>]*data-browser-timezone[^>]*>", page).group(0)
    aliases = json.loads(re.search(r"data-zone-aliases=\"([^\"]+)\"", select).group(1).replace("&#34;", '"'))
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata" and "US/Eastern" not in aliases
    assert 'src="/static/js/timezone.js"' in page


def test_a_legacy_zone_shows_as_the_zone_it_stands_for_and_saves_as_it(client, users, login_as):
    patient = users["patient"]
    patient.timezone = "US/Eastern"
    db.session.flush()
    login_as(patient)
    assert selected_zone(client.get("/account").text) == "America/New_York"
    saved = client.post("/account", data={"display_name": patient.display_name, "timezone": "America/New_York"})
    assert saved.status_code in (200, 302, 303), saved.status_code
    db.session.refresh(patient)
    assert patient.timezone == "America/New_York"


def test_a_stored_zone_that_stands_for_none_stays_selectable_and_saves(client, users, login_as):
    patient = users["patient"]
    patient.timezone = "Etc/GMT+5"
    db.session.flush()
    login_as(patient)
    page = client.get("/account").text
    assert options_by_group(page)["Your current zone"] == ["Etc/GMT+5"] and selected_zone(page) == "Etc/GMT+5"
    saved = client.post("/account", data={"display_name": "Renamed", "timezone": "Etc/GMT+5"})
    assert saved.status_code in (200, 302, 303)
    db.session.refresh(patient)
    assert (patient.display_name, patient.timezone) == ("Renamed", "Etc/GMT+5")


def test_an_unknown_zone_is_refused(client):
    response = client.post("/signup", data={"display_name": "Pat", "email": "pat@example.test",
                                            "password": "sunlit-meadow-walk-42", "timezone": "Not/AZone"})
    assert response.status_code == 422 and "Not a valid choice" in response.text


def test_each_account_page_selects_the_stored_zone_and_no_other(client, users, login_as):
    patient = users["patient"]
    login_as(patient)
    for stored in ["Etc/GMT+5", "Europe/Lisbon", "Factory", "Asia/Tokyo", "UTC"]:
        patient.timezone = stored
        db.session.flush()
        page = client.get("/account").text
        assert selected_zones(page) == [stored]
        kept = options_by_group(page).get("Your current zone")
        assert kept == ([stored] if stored in ("Etc/GMT+5", "Factory") else None)


def test_an_unknown_zone_posted_to_the_account_page_is_refused_and_nothing_is_selected(client, users, login_as):
    patient = users["patient"]
    patient.timezone = "Europe/Lisbon"
    db.session.flush()
    login_as(patient)
    response = client.post("/account", data={"display_name": "Renamed", "timezone": "Mars/Base"})
    assert response.status_code == 422 and "Not a valid choice" in response.text
    select = '<select aria-describedby="timezone-error" aria-invalid="true" id="timezone" name="timezone">'
    assert select in response.text
    assert selected_zones(response.text) == [] and "Your current zone" not in options_by_group(response.text)
    db.session.refresh(patient)
    assert (patient.display_name, patient.timezone) == ("Pat One", "Europe/Lisbon")


def test_the_invite_form_selects_the_clinics_zone(app, client, users, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_TIMEZONE", "Europe/Stockholm")
    login_as(users["admin"])
    assert selected_zones(client.get("/admin/users").text) == ["Europe/Stockholm"]
