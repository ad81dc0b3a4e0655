"""dashboard: used sign-in links and sessions

The dashboard page is opened through a signed, short-lived link from Slack that works once, and then a session
cookie. Both live in the database so that two `serve` processes agree: a link used on one is used on the other,
and a session started on one is known to the other. Sessions store only a hash of the cookie's value.

Revision ID: 0014_dashboard_sessions
Revises: 0013_report_speed
Create Date: 2026-12-03 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_dashboard_sessions'
down_revision = '0013_report_speed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_links_used',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('slack_user_id', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_dashboard_links_used'))
    )
    op.create_index(op.f('ix_dashboard_links_used_expires_at'), 'dashboard_links_used', ['expires_at'], unique=False)
    op.create_table('dashboard_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('slack_user_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_dashboard_sessions'))
    )
    op.create_index(op.f('ix_dashboard_sessions_expires_at'), 'dashboard_sessions', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dashboard_sessions_expires_at'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_index(op.f('ix_dashboard_links_used_expires_at'), table_name='dashboard_links_used')
    op.drop_table('dashboard_links_used')
