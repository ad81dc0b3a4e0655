"""The dashboard's sign-in state: which one-use links were used, and the sessions they started.

Hashes only: a link is recorded by the sha256 of its token, a session by the sha256 of its cookie's random
value (the caller hashes; see bot/dashboard_access.py). Both kinds of row carry their expiry and are deleted once
past it, when a new session starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.mail import insert_for
from db.tables import DashboardLinkUsedRow, DashboardSessionRow


async def use_link(session: AsyncSession, token_hash: str, slack_user_id: str, now: datetime,
                   expires_at: datetime) -> bool:
    """True only the first time the link is used, whichever process asks (the primary key decides)."""
    statement = insert_for(session)(DashboardLinkUsedRow).values(
        token_hash=token_hash, slack_user_id=slack_user_id, used_at=now, expires_at=expires_at)
    statement = statement.on_conflict_do_nothing(index_elements=["token_hash"]).returning(
        DashboardLinkUsedRow.token_hash)
    return (await session.execute(statement)).scalar() is not None


async def start_session(session: AsyncSession, id_hash: str, slack_user_id: str, now: datetime,
                        expires_at: datetime) -> None:
    await forget_expired(session, now)
    session.add(DashboardSessionRow(id_hash=id_hash, slack_user_id=slack_user_id, created_at=now,
                                    expires_at=expires_at))


async def session_user(session: AsyncSession, id_hash: str, now: datetime) -> str | None:
    """The Slack user id of a session that has not expired; None for an unknown or expired one."""
    found = await session.execute(select(DashboardSessionRow.slack_user_id)
                                  .where(DashboardSessionRow.id_hash == id_hash, DashboardSessionRow.expires_at > now))
    return found.scalar()


async def end_session(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(DashboardSessionRow).where(DashboardSessionRow.id_hash == id_hash))


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    """Delete the sessions and used-link records past their expiry (an expired link fails its signature check
    anyway, so its record is no longer needed)."""
    await session.execute(delete(DashboardSessionRow).where(DashboardSessionRow.expires_at <= now))
    await session.execute(delete(DashboardLinkUsedRow).where(DashboardLinkUsedRow.expires_at <= now))
