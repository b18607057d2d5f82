import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from portal import clock
from portal.services.audit import audit_record

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def trail(app, users):
    """120 rows one minute apart: every third a cancellation by the patient, one failure."""
    rows = []
    for i in range(120):
        with clock.frozen(T0 + timedelta(minutes=i)):
            cancelled = i % 3 == 0
            rows.append(audit_record(
                actor=users["patient"] if cancelled else users["admin"],
                action="booking_cancelled" if cancelled else "user_role_changed",
                entity_type="booking" if cancelled else "user", entity_id=f"e-{i}",
                old_values={"status": "confirmed"} if cancelled else {"role": "patient"},
                new_values={"status": "cancelled", "reason": "travel"} if cancelled else {"role": "ops"},
                status="failure" if i == 7 else "success",
            ))
    return rows


def entity_ids(html: str) -> list[str]:
    import re

    return re.findall(r'mono">(e-\d+)', html)


def test_audit_page_lists_newest_first_and_pages_by_cursor(login_as, users, trail, client):
    login_as(users["admin"])
    first = client.get("/admin/audit?action=user_role_changed")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert html.index("e-119") < html.index("e-118")
    assert "e-0\"" not in html
    import re

    cursor = re.search(r'cursor=([\w-]+)', html).group(1)
    second = client.get(f"/admin/audit?action=user_role_changed&cursor={cursor}").get_data(as_text=True)
    seen_first = set(re.findall(r'>(e-\d+)<', html))
    seen_second = set(re.findall(r'>(e-\d+)<', second))
    assert len(seen_first) == 50 and len(seen_second) == 30  # 80 user rows
    assert not seen_first & seen_second
    assert "No older entries" in second


def test_filters_combine(login_as, users, trail, client):
    login_as(users["admin"])
    html = client.get(f"/admin/audit?action=booking_cancelled&actor={users['patient'].email}").get_data(as_text=True)
    assert html.count("<code>booking_cancelled</code>") == 40
    assert "user_role_changed</code>" not in html
    html = client.get("/admin/audit?status=failure").get_data(as_text=True)
    assert ">e-7<" in html and html.count("badge-failure") == 1
    html = client.get("/admin/audit?entity_type=booking&entity_id=e-3").get_data(as_text=True)
    assert ">e-3<" in html and html.count("<code>booking_cancelled</code>") == 1


def test_date_range_is_inclusive_of_whole_days(login_as, users, trail, client, app):
    login_as(users["admin"])
    html = client.get("/admin/audit?from=2026-03-03&to=2026-03-04").get_data(as_text=True)
    assert "No audit entries match" in html
    html = client.get("/admin/audit?from=2026-03-02&to=2026-03-02&entity_type=booking").get_data(as_text=True)
    assert html.count("<code>booking_cancelled</code>") == 40


def test_bad_filters_show_errors_not_500(login_as, users, trail, client):
    login_as(users["admin"])
    response = client.get("/admin/audit?from=yesterday&actor=nobody&cursor=!!!")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Use a date like" in html and "No one is named like" in html and "page link has expired" in html


def test_htmx_filter_returns_only_the_results_block(login_as, users, trail, client):
    login_as(users["admin"])
    response = client.get("/admin/audit?action=booking_cancelled", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="audit-results">')
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]


def test_entry_shows_old_and_new_side_by_side_with_changes_marked(login_as, users, trail, client):
    login_as(users["admin"])
    html = client.get(f"/admin/audit/{trail[0].id}").get_data(as_text=True)
    assert 'class="diff-old">&#34;confirmed&#34;' in html or 'diff-old">"confirmed"' in html
    assert html.count('class="changed"') == 2  # status changed, reason added
    assert client.get("/admin/audit/not-a-uuid").status_code == 404


@pytest.mark.parametrize("role", ["patient", "specialist", "ops"])
def test_only_admins_browse_the_audit_log(login_as, users, trail, client, role):
    login_as(users[role])
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert client.get(f"/admin/audit/{trail[0].id}").status_code == 403


def test_csv_export_streams_the_filtered_rows(login_as, users, trail, client, app, monkeypatch):
    import portal.selectors.audit as selectors

    original = selectors.audit_walk
    monkeypatch.setattr("portal.admin.audit.audit_walk", lambda f: original(f, chunk=7))
    audit_record(actor=None, action="=cmd()", entity_type="x")
    login_as(users["admin"])
    response = client.get("/admin/audit.csv?action=booking_cancelled")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 40
    assert [r["entity_id"] for r in rows[:2]] == ["e-117", "e-114"]
    assert rows[0]["new_values"] == '{"reason": "travel", "status": "cancelled"}'
    formula = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv?actor=system").get_data(as_text=True))))
    assert formula[0]["action"] == "'=cmd()"


def test_api_filters_and_cursor(client, users, trail, api_headers):
    headers = api_headers(users["admin"])
    body = client.get("/api/v1/audit-logs?action=user_role_changed&limit=60", headers=headers).get_json()
    assert len(body["items"]) == 60 and body["next_cursor"]
    assert body["items"][0]["entity_id"] == "e-119"
    rest = client.get(f"/api/v1/audit-logs?action=user_role_changed&limit=60&cursor={body['next_cursor']}",
                      headers=headers).get_json()
    assert len(rest["items"]) == 20 and rest["next_cursor"] is None
    ids = {i["id"] for i in body["items"]} | {i["id"] for i in rest["items"]}
    assert len(ids) == 80
    q = (f"actor_id={users['patient'].id}&action=booking_cancelled&status=success"
         "&from=2026-03-02T12:30:00Z&to=2026-03-02T13:00:00Z")
    body = client.get(f"/api/v1/audit-logs?{q}", headers=headers).get_json()
    assert [i["entity_id"] for i in body["items"]] == [f"e-{i}" for i in range(57, 29, -3)]
    one = client.get("/api/v1/audit-logs?entity_type=booking&entity_id=e-3", headers=headers).get_json()
    assert [i["entity_id"] for i in one["items"]] == ["e-3"]


def test_api_refuses_non_admins_and_bad_input(app, client, users, trail, api_headers):
    for role in ("patient", "specialist", "ops"):
        response = client.get("/api/v1/audit-logs", headers=api_headers(users[role]))
        assert response.status_code == 403 and response.get_json()["error"] == "FORBIDDEN"
    from flask import g

    g.pop("_login_user", None)  # the test app context outlives requests
    assert app.test_client().get("/api/v1/audit-logs").status_code == 401
    g.pop("_login_user", None)
    headers = api_headers(users["admin"])
    for query in ("cursor=nope", "from=2026-03-02T12:00:00", "status=maybe", "actor_id=x", "limit=0"):
        response = client.get(f"/api/v1/audit-logs?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.get_json()["success"] is False


def test_the_export_link_swapped_with_the_results_exports_exactly_the_rows_shown(login_as, users, trail, client):
    """Filters applied with the Filter button (htmx) swap the results and their export link together."""
    import html as markup
    import re

    login_as(users["admin"])
    name = users["patient"].display_name
    fragment = client.get("/admin/audit", query_string={"actor": name.split()[0].lower(), "status": "success"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    shown = entity_ids(fragment)
    assert len(shown) == 40  # the patient's cancellations, every third row
    export = markup.unescape(re.search(r'id="audit-export" href="([^"]+)"', fragment).group(1))
    assert "actor=" in export and "status=success" in export
    rows = list(csv.DictReader(io.StringIO(client.get(export).get_data(as_text=True))))
    assert [row["entity_id"] for row in rows] == shown
    assert {row["actor_id"] for row in rows} == {str(users["patient"].id)}


def test_the_action_filter_offers_the_actions_that_exist(login_as, users, trail, client):
    login_as(users["admin"])
    page = client.get("/admin/audit").get_data(as_text=True)
    select = page.split('<select id="f-action"')[1].split("</select>")[0]
    assert '<option value="booking_cancelled"' in select and '<option value="user_role_changed"' in select
    assert '<option value="booking_created"' not in select
