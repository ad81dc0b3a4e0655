"""What the Reply modal offers: the canned responses (filled in for this ticket) and, best first with their
confidence, the suggested template, knowledge-base articles and the answer that resolved the most similar
past ticket."""

from __future__ import annotations

from blocks.modals import canned_value
from bot.desk import Desk
from db import kb
from ticketing.canned import render, template_values
from ticketing.model import Ticket

Choices = tuple[list[tuple[str, str]], list[tuple[str, str, float]]]


DRAFT = "AI draft (check before sending)"
DRAFT_CONFIDENCE = 0.5


async def reply_choices(desk: Desk, ticket: Ticket, agent_id: str, draft: str | None = None) -> Choices:
    agent = desk.config.agent(agent_id)
    values = template_values(ticket, agent.name if agent else f"{desk.config.company} support", desk.config.company)
    canned = [(c.name, render(c.in_language(ticket.language), values)) for c in desk.config.canned
              if c.name not in ("ticket_received", "ticket_escalated")]
    suggestions = [(name, text, ticket.classification.confidence) for name, text in canned
                   if name == ticket.classification.template]
    async with desk.db.sessions() as session:
        articles = await kb.search_articles(session, f"{ticket.subject} {ticket.description}", limit=3)
        past = await kb.similar_resolved(session, ticket.subject, ticket.description, limit=2,
                                         exclude_ticket=ticket.id)
    suggestions += [(f"Article: {hit.title}", _article_reply(hit.title, hit.snippet), hit.score) for hit in articles]
    suggestions += [(f"Answer that resolved {p.ticket_id}", p.answer, p.score) for p in past]
    if draft:
        suggestions.append((DRAFT, draft, DRAFT_CONFIDENCE))
    suggestions.sort(key=lambda s: -s[2])
    return canned, suggestions


def _article_reply(title: str, snippet: str) -> str:
    return f"This guide should help: {title}\n\n{snippet.strip()}"


async def draft(desk: Desk, ticket: Ticket) -> str | None:
    """The model's draft when one is configured (slow: the modal opens first and is updated with it)."""
    if desk.drafter is None:
        return None
    return await desk.drafter(ticket.subject, ticket.description, desk.config.company)


async def chosen_text(desk: Desk, ticket: Ticket, agent_id: str, value: str, view_draft: str | None = None
                      ) -> str | None:
    """The text of the option the agent chose (the modal sends only its value)."""
    canned, suggestions = await reply_choices(desk, ticket, agent_id, view_draft)
    for name, text in [*canned, *((n, t) for n, t, _ in suggestions)]:
        if canned_value(name) == value:
            return text
    return None
