"""inbound mail: deduplicate on the content, not on the Message-ID alone

`inbound_emails.message_id` was unique and the store did ON CONFLICT DO NOTHING: a different message that
reused a stored Message-ID got its 250 and vanished. The unique key is now `content_sha256` (a digest of the
raw bytes less the trace fields relays add, see channels/email/digest.py): the same content again is a
redelivery, counted in `deliveries` on the row it repeats; another message with a known Message-ID is stored,
with `duplicate_of` naming the first row that had the id. `message_id` keeps a plain index. `released` lets
one quarantined message past the sender rate limit (`quarantine release`).

Existing rows get their digest here, computed by a frozen copy of the digest as it was at this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:45:00
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_TRACE = frozenset({
    "received", "return-path", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to",
    "x-delivered-to", "x-received", "received-spf", "authentication-results", "x-spam-status", "x-spam-score",
    "x-spam-level", "x-spam-flag", "x-virus-scanned", "arc-seal", "arc-message-signature",
    "arc-authentication-results", "x-ms-exchange-organization-authas", "resent-received",
})
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")


def _digest(raw: bytes) -> str:
    pos, end = 0, -1
    while (stop := raw.find(b"\n", pos)) >= 0:
        if raw[pos:stop] in (b"", b"\r"):
            end = stop + 1
            break
        pos = stop + 1
    if end < 0:
        return hashlib.sha256(raw).hexdigest()
    digest, keep = hashlib.sha256(), True
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if keep:
                digest.update(line)
            continue
        field = _FIELD.match(line)
        keep = field is None or field.group(1).decode("ascii").lower() not in _TRACE
        if keep:
            digest.update(line)
    digest.update(raw[end:])
    return digest.hexdigest()


def _backfill() -> None:
    bind = op.get_bind()
    table = sa.table('inbound_emails', sa.column('id', sa.BigInteger()), sa.column('raw', sa.LargeBinary()),
                     sa.column('content_sha256', sa.String(64)))
    last = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, table.c.raw).where(table.c.id > last)
                            .order_by(table.c.id).limit(500)).all()
        if not rows:
            return
        for row_id, raw in rows:
            bind.execute(table.update().where(table.c.id == row_id).values(content_sha256=_digest(bytes(raw))))
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('inbound_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('deliveries', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.add_column(sa.Column('released', sa.Boolean(), server_default=sa.false(), nullable=False))
    _backfill()
    with op.batch_alter_table('inbound_emails', schema=None) as batch_op:
        batch_op.alter_column('content_sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint('uq_inbound_emails_message_id', type_='unique')
        batch_op.create_index(batch_op.f('ix_inbound_emails_message_id'), ['message_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_inbound_emails_content_sha256'), ['content_sha256'])


def downgrade() -> None:
    # Rows that share a Message-ID cannot all stay under the old unique key: the later ones go (their raw
    # bytes with them), as a downgrade to a schema that could not hold them must.
    inbound = sa.table('inbound_emails', sa.column('duplicate_of', sa.BigInteger()))
    op.execute(inbound.delete().where(inbound.c.duplicate_of.is_not(None)))
    with op.batch_alter_table('inbound_emails', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbound_emails_content_sha256', type_='unique')
        batch_op.drop_index(batch_op.f('ix_inbound_emails_message_id'))
        batch_op.create_unique_constraint('uq_inbound_emails_message_id', ['message_id'])
        batch_op.drop_column('released')
        batch_op.drop_column('duplicate_of')
        batch_op.drop_column('deliveries')
        batch_op.drop_column('content_sha256')
