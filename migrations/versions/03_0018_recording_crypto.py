"""Recordings encrypted at rest: each row's wrapped data key and master key id, and the
one-time codes that signed links carry instead of a long-lived token.

Revision ID: 0018_recording_crypto
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_recording_crypto"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting_recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encryption_key_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('wrapped_data_key', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_meeting_recordings_encryption_key_id'), ['encryption_key_id'], unique=False)

    op.create_table('recording_access_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('recording_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recording_id'], ['meeting_recordings.id'], name=op.f('fk_recording_access_codes_recording_id_meeting_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recording_access_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_recording_access_codes'))
    )
    with op.batch_alter_table('recording_access_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_access_codes_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_access_codes_recording_id'), ['recording_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_access_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recording_access_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_access_codes_user_id'))
        batch_op.drop_index(batch_op.f('ix_recording_access_codes_recording_id'))
        batch_op.drop_index(batch_op.f('ix_recording_access_codes_expires_at'))
    op.drop_table('recording_access_codes')
    with op.batch_alter_table('meeting_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_recordings_encryption_key_id'))
        batch_op.drop_column('wrapped_data_key')
        batch_op.drop_column('encryption_key_id')
