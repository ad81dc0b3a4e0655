"""Which ticket a customer's mail belongs to: the decision, given what the store found."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from ticketing.model import Status, Ticket

# `[BIL-MIDQ1Z2K-7QF]` anywhere in the subject; the last tag wins (replies append, forwards prepend).
SUBJECT_TAG = re.compile(r"\[([A-Z]{2,3}-[0-9A-Z]{4,12}-[0-9A-Z]{3})\]", re.IGNORECASE)


def ticket_ids_in_subject(subject: str) -> list[str]:
    """Ticket ids tagged in the subject, most recent (rightmost) first."""
    return [m.upper() for m in reversed(SUBJECT_TAG.findall(subject))]


class ThreadAction(StrEnum):
    APPEND = "append"  # the mail is the next message of the ticket
    NEW = "new"  # a new ticket
    NEW_LINKED = "new_linked"  # a new ticket, linked to the one it referred to


@dataclass(frozen=True)
class ThreadDecision:
    action: ThreadAction
    ticket_id: str | None  # the ticket to append to, or to link the new one to
    reason: str


def may_write_to(ticket: Ticket, sender: str, participants: Collection[str]) -> bool:
    sender = sender.lower()
    return sender == ticket.customer.email.lower() or sender in {p.lower() for p in participants}


def decide_thread(found: Ticket | None, how: str, sender: str, participants: Collection[str]) -> ThreadDecision:
    """`found` is the ticket the subject tag or the mail's references point at (None when nothing does).

    A match counts only when the sender is the ticket's customer or a participant: a stranger's mail is
    never added to someone else's ticket. A reply to a closed ticket opens a new one linked to it.
    """
    if found is None:
        return ThreadDecision(ThreadAction.NEW, None, "no ticket tag or known reference")
    if not may_write_to(found, sender, participants):
        return ThreadDecision(ThreadAction.NEW_LINKED, found.id,
                              f"{how} points at {found.id}, but the sender is not on that ticket")
    if found.status is Status.CLOSED:
        return ThreadDecision(ThreadAction.NEW_LINKED, found.id, f"{how} points at {found.id}, which is closed")
    return ThreadDecision(ThreadAction.APPEND, found.id, f"{how} matched {found.id}")
