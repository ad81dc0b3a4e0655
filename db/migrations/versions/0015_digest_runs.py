"""digest_runs: each channel's morning digest claimed once per local day

Revision ID: 0015_digest_runs
Revises: 0014_dashboard_sessions
Create Date: 2026-12-03 13:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015_digest_runs'
down_revision = '0014_dashboard_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
    sa.UniqueConstraint('channel', 'day', name=op.f('uq_digest_runs_channel_day'))
    )


def downgrade() -> None:
    op.drop_table('digest_runs')
