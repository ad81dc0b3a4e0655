"""tickets: an index that covers the dashboard's read of the tickets resolved in a period

The dashboard reads the tickets resolved in its period and in the one before (resolution times, CSAT, resolved
per agent, the resolved volume per day, and what was open when the period began). Through
`ix_tickets_resolved_at` each of them cost a visit to its table row: at 100,000 tickets the 90-day dashboard's
48,000 resolved tickets took longer than all the rest of it. `ix_tickets_report_resolved` holds, ordered by the
resolve, every column those reads take, so they are one range of one index and no row is visited.

Revision ID: 0013_report_speed
Revises: 0012
Create Date: 2026-12-03 13:15:00
"""

from __future__ import annotations

from alembic import op

revision = '0013_report_speed'
down_revision = '0012'
branch_labels = None
depends_on = None

_COVERED = ("resolved_at", "created_at", "team", "status", "priority", "closed_at", "assigned_to",
            "satisfaction_rating", "resolution_clock_used", "resolution_clock_stopped_at", "id")


def upgrade() -> None:
    op.create_index('ix_tickets_report_resolved', 'tickets', list(_COVERED), unique=False)  # no table rebuild


def downgrade() -> None:
    op.drop_index('ix_tickets_report_resolved', table_name='tickets')
