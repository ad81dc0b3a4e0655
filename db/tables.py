"""The tables. Alembic migrations in db/migrations are the source of truth for the schema; these
declarations must match them (a test compares the two)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import Json, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: Json, list[Any]: Json}


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    user_type: Mapped[str] = mapped_column(String(20), default="supplier")
    tier: Mapped[str] = mapped_column(String(20), default="free")
    account_created_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(16), default="en")
    undeliverable: Mapped[bool] = mapped_column(Boolean, default=False)
    undeliverable_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class TicketRow(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    user_type: Mapped[str] = mapped_column(String(20))
    user_tier: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(50))
    category: Mapped[str] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    assigned_to: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    sla_first_response: Mapped[int] = mapped_column(Integer)
    sla_resolution: Mapped[int] = mapped_column(Integer)
    sla_first_response_due: Mapped[datetime]
    sla_resolution_due: Mapped[datetime]
    sla_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    satisfaction_rating: Mapped[int | None] = mapped_column(Integer)
    satisfaction_feedback: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[dict[str, Any]]
    attachments: Mapped[list[Any]]
    tags: Mapped[list[Any]]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    # The SLA clocks (used time, pauses, moments fired) and the next moment the ticker must look at: the
    # ticker reads tickets through this indexed column only, never by scanning every open ticket.
    sla_state: Mapped[dict[str, Any] | None] = mapped_column(Json)
    sla_next_at: Mapped[datetime | None] = mapped_column(index=True)
    language: Mapped[str] = mapped_column(String(8), server_default="en")  # 0009, issue 11
    # Report facts (migration 0012): copies of the few JSON values the reports read (metadata.extra's flags,
    # the SLA clocks' used minutes and stop moments), kept by db/tickets.py and db/sla.py on every write, so
    # that the report index below covers every column the dashboard reads: no JSON parsed, no row visited.
    report_reopened: Mapped[int] = mapped_column(Integer, server_default="0")
    report_deflected: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())
    report_imported: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())
    first_clock_used: Mapped[float | None] = mapped_column(Float)
    first_clock_stopped_at: Mapped[str | None] = mapped_column(String(40))
    resolution_clock_used: Mapped[float | None] = mapped_column(Float)
    resolution_clock_stopped_at: Mapped[str | None] = mapped_column(String(40))
    # Bumped by the database's triggers on every change of the ticket or of its links (migration 0016): what
    # db/report_days.py sums per day to know whether a day's tallies still hold, through two indexes on the UTC
    # day of created_at and resolved_at (expressions that differ per dialect: in the migration only).
    report_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        CheckConstraint(
            "satisfaction_rating IS NULL OR (satisfaction_rating >= 1 AND satisfaction_rating <= 5)",
            name="rating_range",
        ),
        Index("ix_tickets_report_facts", *(  # what db/reports._columns reads
            "created_at", "team", "category", "priority", "user_tier", "status", "first_response_at",
            "resolved_at", "closed_at", "assigned_to", "escalation_level", "sla_breach", "satisfaction_rating",
            "tags", "report_reopened", "report_deflected", "report_imported", "first_clock_used",
            "first_clock_stopped_at", "resolution_clock_used", "resolution_clock_stopped_at", "id")),
        Index("ix_tickets_report_open",  # migration 0016: db/reports._open_counts, one status at a time
              "status", "priority", "created_at", "resolved_at", "closed_at", "team", "id"),
    )


class MessageRow(Base):
    __tablename__ = "ticket_messages"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))  # customer | agent | system
    visibility: Mapped[str] = mapped_column(String(20), default="public")
    sender_id: Mapped[str | None] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    edited_at: Mapped[datetime | None]
    edit_history: Mapped[list[Any]]
    __table_args__ = (UniqueConstraint("ticket_id", "seq"),)


class ParticipantRow(Base):
    """Addresses that may write into a ticket besides its customer (the people in cc)."""

    __tablename__ = "ticket_participants"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)


class TicketLinkRow(Base):
    __tablename__ = "ticket_links"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    related_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="related")
    created_at: Mapped[datetime]


class MailIdRow(Base):
    """Every Message-ID we stored or sent, and the ticket it belongs to: the threading index."""

    __tablename__ = "mail_ids"
    message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # in | out
    created_at: Mapped[datetime]


class CannedResponseRow(Base):
    __tablename__ = "canned_responses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    category: Mapped[str | None] = mapped_column(String(50))
    content: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[Any]]
    self_service: Mapped[bool] = mapped_column(Boolean, default=False)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TicketMetricsRow(Base):
    __tablename__ = "ticket_metrics"
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    tickets_created: Mapped[int] = mapped_column(Integer, default=0)
    tickets_resolved: Mapped[int] = mapped_column(Integer, default=0)
    tickets_closed: Mapped[int] = mapped_column(Integer, default=0)
    first_response_count: Mapped[int] = mapped_column(Integer, default=0)
    first_response_minutes_sum: Mapped[float] = mapped_column(Float, default=0.0)
    resolution_count: Mapped[int] = mapped_column(Integer, default=0)
    resolution_minutes_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sla_breaches: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction_responses: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction_sum: Mapped[int] = mapped_column(Integer, default=0)
    by_category: Mapped[dict[str, Any]]
    by_priority: Mapped[dict[str, Any]]
    by_agent: Mapped[dict[str, Any]]


class InboundEmailRow(Base):
    """Every accepted message, raw, until and after it is handled: processed, ignored or quarantined."""

    __tablename__ = "inbound_emails"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending|processed|ignored|quarantined
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[str | None] = mapped_column(String(20), index=True)
    ticket_message_id: Mapped[str | None] = mapped_column(String(64))
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handled_at: Mapped[datetime | None]
    # Migration 0007: the content (raw less trace fields, channels/email/digest.py) is the unique key; the same
    # content again only counts a delivery; another message reusing a stored Message-ID names that row.
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    deliveries: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    released: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    __table_args__ = (
        Index("ix_inbound_emails_status_id", "status", "id"),
        Index("ix_inbound_emails_sender_received", "sender_hash", "received_at"),
    )


class AttachmentBlobRow(Base):
    __tablename__ = "attachment_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxRow(Base):
    """Effects waiting to leave: emails, Slack calls, SMS. Written in the transaction that causes them."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # email | slack | sms
    ticket_id: Mapped[str | None] = mapped_column(String(20), index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)


class ImapCursorRow(Base):
    __tablename__ = "imap_cursors"
    account: Mapped[str] = mapped_column(String(500), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class SlackThreadRow(Base):
    """Where a ticket's card lives in Slack: its channel and `ts`, so updates edit the same message."""

    __tablename__ = "slack_threads"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("channel", "ts"),)


class SlackEventRow(Base):
    """Event ids already handled: Slack's retries of the same event are ignored."""

    __tablename__ = "slack_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class PendingReplyRow(Base):
    """An agent's answer in a ticket thread, waiting out its undo window before it is emailed."""

    __tablename__ = "pending_replies"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32), index=True)  # the agent's own message
    prompt_ts: Mapped[str | None] = mapped_column(String(32))  # our Undo / Send now / Keep as note message
    send_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|undone|noted
    created_at: Mapped[datetime]
    # Files the agent shared with the answer (kept blobs: filename, content_type, size, sha256), migration 0008.
    attachments: Mapped[list[Any]] = mapped_column(Json, default=list, server_default="[]")


class AppSettingRow(Base):
    """Values the desk keeps for itself (e.g. the secret that signs rating links)."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SlaFiringRow(Base):
    """Each SLA moment (and each escalation step) fires once per ticket: the primary key guarantees it, across
    restarts and several processes."""

    __tablename__ = "sla_firings"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. first_response:warning, ladder:2
    fired_at: Mapped[datetime]


class EscalationAckRow(Base):
    """Who acknowledged an escalation step, and when; an acknowledgement stops that step's follow-up."""

    __tablename__ = "escalation_acks"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    acked_by: Mapped[str] = mapped_column(String(64))
    acked_at: Mapped[datetime]


class SmsSentRow(Base):
    """SMS sent per person and ticket: at most one per person per ticket per 15 minutes."""

    __tablename__ = "sms_sent"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    person: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime]
    __table_args__ = (Index("ix_sms_sent_person_ticket_sent_at", "person", "ticket_id", "sent_at"),)


class KbArticleRow(Base):
    """A knowledge-base article: one markdown file of the configured folder, by its path inside it.

    The full-text index over title and body is backend-specific and lives only in migration 0003 (an FTS5
    table kept in sync by triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL);
    its objects are all named `fts_*` and left out of the schema comparison (db.kb.include_name).
    """

    __tablename__ = "kb_articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of title and body
    updated_at: Mapped[datetime]


# -- reports (issue 10): hourly metrics without a hot row, and the index the report facts read through --------


class TicketMetricDeltaRow(Base):
    """One change's contribution to its hour's metrics, appended (never updated): ticket changes of several
    desks never wait on each other for an hour's `ticket_metrics` row. A periodic job folds the deltas of past
    hours into those rows; readers add the deltas not folded yet."""

    __tablename__ = "ticket_metric_deltas"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    hour: Mapped[datetime] = mapped_column(index=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    first_response_minutes: Mapped[float | None] = mapped_column(Float)
    resolution_minutes: Mapped[float | None] = mapped_column(Float)
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20))
    agent: Mapped[str | None] = mapped_column(String(64))


Index("ix_tickets_resolved_at", TicketRow.resolved_at)


# -- the dashboard (issue 10): its one-use sign-in links and its sessions -------------------------------------


class DashboardLinkUsedRow(Base):
    """A dashboard sign-in link that has been used: the primary key lets it start one session only, whichever
    `serve` process the click reaches. Kept until the link would have expired anyway."""

    __tablename__ = "dashboard_links_used"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the whole token
    slack_user_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DashboardSessionRow(Base):
    """A signed-in dashboard session. Only the hash of the cookie's random id is stored, so a copy of the
    database opens no session."""

    __tablename__ = "dashboard_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's value
    slack_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


# -- the daily digest (issue 10) -----------------------------------------------------------------------------


class DigestRunRow(Base):
    """A channel's digest of one local day, claimed once: the unique (channel, day) decides which `serve` (or
    `report digest`) posts it; the claim and its outbox row are written in one transaction."""

    __tablename__ = "digest_runs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))  # the local day it is sent on, YYYY-MM-DD
    team: Mapped[str | None] = mapped_column(String(100))  # None: every team (the managers' digest)
    claimed_at: Mapped[datetime]
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (UniqueConstraint("channel", "day"),)

Index("ix_tickets_report_resolved", *(  # migration 0013: what db/reports reads of the tickets resolved in a period
    getattr(TicketRow, name) for name in (
        "resolved_at", "created_at", "team", "status", "priority", "closed_at", "assigned_to", "satisfaction_rating",
        "resolution_clock_used", "resolution_clock_stopped_at", "id")))
