"""Session notes: a private field the specialist keeps for themselves.

- session_notes.private_notes: text the booking's patient never sees (the note's author and
  admins do); empty for every existing note.

Revision ID: 0027_private_notes
Revises: 0028_meeting_intake
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_private_notes"
down_revision = "0028_meeting_intake"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_notes") as batch:
        batch.add_column(sa.Column("private_notes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("session_notes") as batch:
        batch.drop_column("private_notes")
