"""Migration 0023: account mails already kept in the outbox lose their working links."""
from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import Outbox
from portal.services.account_links import CONFIRM, INVITE, RESET, link_token, link_user
from portal.services.mail_context import absolute_url
from portal.services.users import user_create
from tests.models.test_migrations import scratch_app, scratch_session  # noqa: F401 (the fixtures)

LINKS = {"password_reset": ("auth.reset_password", RESET), "account_invite": ("auth.accept_invitation", INVITE),
         "account_confirm": ("auth.confirm_email", CONFIRM)}


def _kept_rows_with_live_links() -> tuple[dict, list[str], str]:
    """Account mails kept as delivered before 0023 (their live links in both parts), and a
    booking mail whose link to its booking page must stay."""
    user = user_create(email="kept@mig.test", password="correct-horse-battery", role="patient")
    db.session.flush()
    ids, tokens = {}, []
    for template, (endpoint, purpose) in LINKS.items():
        token = link_token(user, purpose)
        url = absolute_url(endpoint, token=token)
        row = Outbox(recipient_id=user.id, template=template, about={"user_id": str(user.id)},
                     dedup_key=f"{template}:mig", status="kept", subject="Account",
                     body_text=f"Hello,\n\nOpen this link:\n{url}\n\n-- \nClinic portal",
                     body_html=f'<p><a href="{url}" style="color:#1d4ed8;">Open</a></p>')
        db.session.add(row)
        db.session.flush()
        ids[template], tokens = row.id, [*tokens, token]
    booking_body = "Your session: http://127.0.0.1:5000/bookings/1234\n"
    other = Outbox(recipient_id=user.id, template="booking_confirmed", about={}, dedup_key="booking:mig",
                   status="kept", subject="Booked", body_text=booking_body, body_html=None)
    db.session.add(other)
    db.session.commit()
    ids["booking_confirmed"] = other.id
    return ids, tokens, booking_body


def _bodies(ids) -> dict[str, tuple[str | None, str | None]]:
    db.session.expire_all()
    return {template: (row.body_text, row.body_html)
            for template, row_id in ids.items() for row in [db.session.get(Outbox, row_id)]}


def test_0023_strips_the_links_of_kept_account_mails_and_nothing_else(scratch_session):  # noqa: F811 (the imported fixture)
    upgrade(revision="0022_patient_index_covers")  # the revision 0023 follows
    ids, tokens, booking_body = _kept_rows_with_live_links()
    assert all(link_user(token, purpose) is not None
               for token, (_endpoint, purpose) in zip(tokens, LINKS.values(), strict=True))  # live before
    db.session.remove()
    upgrade(revision="0023_account_mail_links_withheld")
    bodies = _bodies(ids)
    for template in LINKS:
        text, html = bodies[template]
        assert "a personal link was sent to the recipient" in text and "a personal link was sent" in html
        assert "Open this link:" in text and "Clinic portal" in text  # the rest of the message stays
        for token in tokens:
            assert token not in text and token not in html
        assert "/password/reset/" not in text + html and "/invite/" not in text + html
    assert bodies["booking_confirmed"] == (booking_body, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 4
    db.session.remove()
    downgrade(revision="0022_patient_index_covers")  # nothing to restore: the links stay gone
    assert _bodies(ids) == bodies
    db.session.remove()
    upgrade()
