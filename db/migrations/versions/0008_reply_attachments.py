"""pending replies keep the files an agent shared with a thread answer

An answer written in a ticket's thread waits out its undo window as a pending reply; the files the agent shared
with it (kept as attachment blobs) wait with it, so the email that goes out carries them. Existing rows get [].

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_ = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pending_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', JSON_, nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('pending_replies', schema=None) as batch_op:
        batch_op.drop_column('attachments')
