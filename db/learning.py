"""The desk's own history as training rows for the learned classifier: corrected and resolved tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import TicketRow

TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]
DONE = ("resolved", "closed")


@dataclass(frozen=True)
class LabelledTicket:
    subject: str
    description: str
    category: str
    type: str
    language: str
    corrected: bool  # an agent set the category (the card's menu)
    resolved: bool


async def labelled_tickets(session: AsyncSession, limit: int = 50_000) -> list[LabelledTicket]:
    """Tickets an agent corrected or that were resolved, newest first: what the desk knows to be right."""
    t = TICKETS.c
    query = (select(t.subject, t.description, t.category, t.type, t.language, t.status, t.classification)
             .order_by(t.updated_at.desc()).limit(limit * 4))
    found: list[LabelledTicket] = []
    for row in await session.execute(query):
        corrected = (row.classification or {}).get("source") == "agent"
        resolved = row.status in DONE
        if corrected or resolved:
            found.append(LabelledTicket(row.subject, row.description, row.category, row.type, row.language or "",
                                        corrected, resolved))
            if len(found) >= limit:
                break
    return found
