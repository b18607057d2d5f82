"""Accounts and sessions: a session version that ends old sessions, e-mail confirmation, token expiry.

users.session_version is part of every session's and remember-me cookie's user id: bumping it
(sign-out, password change or reset, deactivation, "sign out everywhere") ends them all.
Accounts that exist already were made by an admin or the command line: they count as confirmed.

Revision ID: 0014_accounts
Revises: 0013_outbox
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_accounts"
down_revision = "0013_outbox"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = created_at")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_confirmed_at")
        batch_op.drop_column("session_version")
