"""Tickets know their language

The language detected from a ticket's text (issue 11): routing prefers agents who speak it and the
confirmation and canned mails go out in it where support.yml has a translation. Existing tickets get their
customer's language (customers already had one).

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy): SQLite keeps the full-text triggers on tickets.
    op.add_column("tickets", sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    op.execute("UPDATE tickets SET language = (SELECT customers.language FROM customers "
               "WHERE customers.id = tickets.user_id) WHERE EXISTS (SELECT 1 FROM customers "
               "WHERE customers.id = tickets.user_id AND customers.language IS NOT NULL)")


def downgrade() -> None:
    op.drop_column("tickets", "language")  # SQLite 3.35+ drops a plain column in place
