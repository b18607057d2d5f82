"""One pagination for every paged list: page numbers from a query string never reach
OFFSET as an overflow, and one pager renders previous/next the same way everywhere."""
from __future__ import annotations

import pytest

HX = {"HX-Request": "true"}
HOSTILE_PAGES = ["99999999999999999999", "1e20", "-3", "0", "x", "", "1.5"]


@pytest.fixture
def thirty_patients(make_user):
    for i in range(30):
        make_user("patient", email=f"paged{i:02d}@example.test", name=f"Paged {i:02d}")


@pytest.mark.parametrize("page", HOSTILE_PAGES)
def test_a_page_route_clamps_any_page_number(login_as, users, thirty_patients, page):
    response = login_as(users["admin"]).get(f"/admin/users?q=paged&page={page}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if page == "99999999999999999999":  # capped: an empty page past the end, whose "previous" is the last
        assert "No users match" in html and 'href="/admin/users?q=paged&amp;page=2" ' in html
    else:
        assert "Page 1 of 2" in html and "paged00@example.test" in html


@pytest.mark.parametrize("page", HOSTILE_PAGES)
def test_an_api_list_refuses_an_unusable_page_cleanly(client, users, api_headers, page):
    response = client.get(f"/api/v1/bookings?page={page}", headers=api_headers(users["patient"]))
    assert response.status_code == 400
    body = response.get_json()
    assert body["success"] is False and "page" in body["fields"]


@pytest.mark.parametrize("per_page", ["100000000000000000000", "0", "-1", "201"])
def test_an_api_list_refuses_an_unusable_page_size(client, users, api_headers, per_page):
    response = client.get(f"/api/v1/bookings?per_page={per_page}", headers=api_headers(users["patient"]))
    assert response.status_code == 400 and "per_page" in response.get_json()["fields"]


def test_the_pager_keeps_the_filters_and_swaps_its_own_block(login_as, users, thirty_patients):
    client = login_as(users["admin"])
    html = client.get("/admin/users?q=paged&role=").get_data(as_text=True)
    assert 'href="/admin/users?q=paged&amp;page=2"' in html  # the empty filter is dropped
    assert 'hx-target="#user-results"' in html and 'rel="next"' in html
    second = client.get("/admin/users?q=paged&page=2", headers=HX).get_data(as_text=True)
    assert "<html" not in second and 'href="/admin/users?q=paged&amp;page=1"' in second
    assert "Page 2 of 2" in second and '<span class="disabled">Next</span>' in second
