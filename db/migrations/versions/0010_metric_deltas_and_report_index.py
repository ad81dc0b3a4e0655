"""Hourly metrics without a hot row: appended deltas; the index the report facts read resolved tickets through

Every ticket change used to lock its hour's `ticket_metrics` row (read, add, write), so two desks on one
PostgreSQL took turns on every change and could deadlock on two hours. A change now appends one row to
`ticket_metric_deltas`; a periodic job folds past hours into `ticket_metrics`. `tickets.resolved_at` gets an
index: the reports read the tickets resolved in a period (besides those created in it) through it.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-03 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_metric_deltas',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('first_response_minutes', sa.Float(), nullable=True),
    sa.Column('resolution_minutes', sa.Float(), nullable=True),
    sa.Column('breaches', sa.Integer(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_metric_deltas'))
    )
    op.create_index(op.f('ix_ticket_metric_deltas_hour'), 'ticket_metric_deltas', ['hour'], unique=False)
    op.create_index('ix_tickets_resolved_at', 'tickets', ['resolved_at'], unique=False)  # no table rebuild


def downgrade() -> None:
    op.drop_index('ix_tickets_resolved_at', table_name='tickets')
    op.drop_index(op.f('ix_ticket_metric_deltas_hour'), table_name='ticket_metric_deltas')
    op.drop_table('ticket_metric_deltas')
