"""Account mails already in the outbox lose their links: a kept copy holds no working secret.

Confirmation, invitation and password-reset messages were kept as delivered, with their live
links, for the mailbox page to show. The link in each kept copy (text and HTML) is replaced by
the note new messages carry. A downgrade cannot bring the links back, and leaves the notes.

Revision ID: 0023_account_mail_links_withheld
Revises: 0022_patient_index_covers
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "0023_account_mail_links_withheld"
down_revision = "0022_patient_index_covers"
branch_labels = None
depends_on = None

ACCOUNT_MAIL_TEMPLATES = ("account_confirm", "account_invite", "password_reset", "account_exists")
LINK_NOT_KEPT = "[a personal link was sent to the recipient; it is not kept here]"
ACCOUNT_LINK = re.compile(r"""https?://[^\s"'<>]*?/(?:password/reset|invite|confirm)/[^\s"'<>]+""")
BATCH = 500

outbox = sa.table("outbox", sa.column("id", sa.Uuid), sa.column("template", sa.String),
                  sa.column("body_text", sa.Text), sa.column("body_html", sa.Text))


def _withheld(body: str | None) -> str | None:
    return None if body is None else ACCOUNT_LINK.sub(LINK_NOT_KEPT, body)


def upgrade():
    connection = op.get_bind()
    query = (sa.select(outbox.c.id, outbox.c.body_text, outbox.c.body_html)
             .where(outbox.c.template.in_(ACCOUNT_MAIL_TEMPLATES),
                    sa.or_(outbox.c.body_text.is_not(None), outbox.c.body_html.is_not(None)))
             .order_by(outbox.c.id))
    after = None
    while True:
        page = query if after is None else query.where(outbox.c.id > after)
        rows = connection.execute(page.limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            text, html = _withheld(row.body_text), _withheld(row.body_html)
            if (text, html) != (row.body_text, row.body_html):
                connection.execute(sa.update(outbox).where(outbox.c.id == row.id)
                                   .values(body_text=text, body_html=html))
        after = rows[-1].id


def downgrade():
    pass  # the links are gone for good; the notes stay
