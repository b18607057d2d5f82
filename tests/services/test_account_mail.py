"""Account links reach their recipient only: the outbox, the mailbox pages and the database
never hold a working one; the delivered link works once. The takeover an ops user could try
(ask for the admin's reset, read the link in the mailbox) is played through to its end."""
from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import sqlalchemy as sa
from flask import g

from portal.extensions import db
from portal.models import Outbox, User
from portal.policies import can_read_mail_body
from portal.services.mail_delivery import LINK_NOT_KEPT, outbox_deliver
from portal.services.mail_files import mail_folder
from tests.conftest import DEFAULT_PASSWORD
from tests.mail.conftest import _emptied_afterwards, free_port, parts, smtp_server  # noqa: F401 (fixtures)

NEW_PASSWORD = "sunlit-meadow-walk-42"
ACCOUNT_LINK = re.compile(r"http://127\.0\.0\.1:5000(/(?:password/reset|invite|confirm)/[A-Za-z0-9._-]+)")


def fresh_client(app):
    g.pop("_login_user", None)
    return app.test_client()


def delivered_link(message) -> str:
    """The path of the account link in a delivered message (text and HTML parts agree)."""
    found = {match for body in parts(message).values() for match in ACCOUNT_LINK.findall(body)}
    assert len(found) == 1, found
    return found.pop()


def rows_of(template: str) -> list[Outbox]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Outbox).where(Outbox.template == template)))


def what_ops_can_read(app, ops: User, rows: list[Outbox]) -> str:
    """Every mailbox page an ops user can open about `rows`, and the rows themselves."""
    client = fresh_client(app)
    client.post("/login", data={"email": ops.email, "password": DEFAULT_PASSWORD})
    seen = [client.get("/admin/outbox").text, client.get("/admin/ops").text]
    for row in rows:
        detail = client.get(f"/admin/outbox/{row.id}")
        assert detail.status_code == 200 and "only its recipient reads it" in detail.text
        assert client.get(f"/admin/outbox/{row.id}/body.html").status_code == 404
        seen += [detail.text, row.body_text or "", row.body_html or ""]
    return "\n".join(seen)


def assert_no_working_link(seen: str, link: str) -> None:
    token = link.rsplit("/", 1)[-1]
    assert token not in seen and link not in seen
    assert not ACCOUNT_LINK.search(seen)


def assert_works_once(app, link: str, *, form: dict | None) -> None:
    first = fresh_client(app)
    if form is None:
        assert first.get(link).status_code == 302
    else:
        assert first.get(link).status_code == 200
        assert first.post(link, data=form).status_code == 302
    again = fresh_client(app).get(link)
    assert again.status_code == 400 and "not valid any more" in again.text


def test_an_ops_user_cannot_take_over_the_admin_through_the_mailbox(app, users, smtp_server):  # noqa: F811
    admin, ops = users["admin"], users["ops"]
    fresh_client(app).post("/password/forgot", data={"email": admin.email})  # anyone may ask
    assert outbox_deliver() == {"sent": 1}
    rows = rows_of("password_reset")
    assert [(r.status, r.tries) for r in rows] == [("sent", 1)]
    assert LINK_NOT_KEPT in rows[0].body_text and LINK_NOT_KEPT in rows[0].body_html
    (message,) = smtp_server.messages(admin.email)
    link = delivered_link(message)
    assert_no_working_link(what_ops_can_read(app, ops, rows), link)

    assert_works_once(app, link, form={"password": NEW_PASSWORD})
    signed_in = fresh_client(app).post("/login", data={"email": admin.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_an_invitation_link_is_delivered_not_kept_and_works_once(app, users, login_as, client,
                                                                  smtp_server):  # noqa: F811
    login_as(users["admin"])
    client.post("/admin/users/invite", data={"display_name": "Dr Ines Invited", "email": "ines@example.test",
                                             "role": "specialist", "timezone": "UTC", "title": "Physio"})
    assert outbox_deliver() == {"sent": 1}
    (message,) = smtp_server.messages("ines@example.test")
    link = delivered_link(message)
    assert link.startswith("/invite/")
    assert_no_working_link(what_ops_can_read(app, users["ops"], rows_of("account_invite")), link)
    assert_works_once(app, link, form={"password": NEW_PASSWORD})


def test_a_confirmation_link_goes_to_the_instance_folder_without_smtp_and_works_once(app, users):
    assert not app.config.get("SMTP_URL")
    fresh_client(app).post("/signup", data={"display_name": "New Patient", "email": "new@example.test",
                                            "password": NEW_PASSWORD, "timezone": "UTC"})
    before = set(mail_folder().glob("*.eml")) if mail_folder().exists() else set()
    assert outbox_deliver() == {"kept": 1}
    (written,) = set(mail_folder().glob("*.eml")) - before
    assert written.stat().st_mode & 0o077 == 0  # the portal's own user only
    message = email.message_from_bytes(Path(written).read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "new@example.test"
    link = delivered_link(message)
    assert link.startswith("/confirm/")
    assert_no_working_link(what_ops_can_read(app, users["ops"], rows_of("account_confirm")), link)
    assert_works_once(app, link, form=None)
    db.session.expire_all()
    confirmed = db.session.scalar(sa.select(User).where(User.email_normalized == "new@example.test"))
    assert confirmed.email_confirmed_at is not None


def test_a_retried_account_mail_carries_a_link_made_at_its_delivery(app, users, smtp_server):  # noqa: F811
    patient = users["patient"]
    fresh_client(app).post("/password/forgot", data={"email": patient.email})
    working_url, app.config["SMTP_URL"] = app.config["SMTP_URL"], f"smtp://127.0.0.1:{free_port()}"
    app.config["OUTBOX_MAX_TRIES"] = 1
    try:
        assert outbox_deliver() == {"failed": 1}
    finally:
        app.config["SMTP_URL"], app.config["OUTBOX_MAX_TRIES"] = working_url, 5
    (row,) = rows_of("password_reset")
    assert row.body_text is None and row.body_html is None  # nothing was rendered into the row
    ops = fresh_client(app)
    ops.post("/login", data={"email": users["ops"].email, "password": DEFAULT_PASSWORD})
    assert ops.post(f"/admin/outbox/{row.id}/retry").status_code == 302
    assert outbox_deliver(ids=[row.id]) == {"sent": 1}
    link = delivered_link(smtp_server.messages(patient.email)[-1])
    assert_no_working_link(what_ops_can_read(app, users["ops"], rows_of("password_reset")), link)
    assert_works_once(app, link, form={"password": NEW_PASSWORD})


def test_staff_read_other_mail_but_no_account_mail(users):
    row = Outbox(recipient_id=users["patient"].id, template="booking_confirmed", about={}, dedup_key="shown")
    assert can_read_mail_body(users["ops"], row) and can_read_mail_body(users["admin"], row)
    row.template = "password_reset"
    assert not can_read_mail_body(users["ops"], row) and not can_read_mail_body(users["admin"], row)
