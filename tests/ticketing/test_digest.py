"""When a channel's digest is due, what day it reports, and which tickets are at risk in which order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from tests.ticketing.builders import NOW, a_ticket
from ticketing.digest import DigestTarget, due_day, next_due, rank_at_risk, reported_window
from ticketing.model import Priority, Ticket

LONDON = DigestTarget("CBILLING01", "billing_team", time(8, 30), "Europe/London", "digest.teams.billing_team")
NEW_YORK = replace(LONDON, timezone="America/New_York")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_due_from_its_local_time_until_the_local_day_ends_never_for_a_day_gone_by() -> None:
    assert due_day(LONDON, utc(11, 20, 8, 29)) is None
    assert due_day(LONDON, utc(11, 20, 8, 30)) == date(2026, 11, 20)
    assert due_day(LONDON, utc(11, 20, 23, 59)) == date(2026, 11, 20)  # catch-up, the same day
    assert due_day(LONDON, utc(11, 21, 0, 1)) is None  # the next day, before its time: not yesterday's
    assert due_day(LONDON, utc(7, 1, 7, 30)) == date(2026, 7, 1)  # 08:30 BST is 07:30 UTC
    assert due_day(NEW_YORK, utc(11, 20, 13, 29)) is None and due_day(NEW_YORK, utc(11, 20, 13, 30))
    assert due_day(NEW_YORK, utc(11, 21, 2, 0)) == date(2026, 11, 20)  # still the 20th in New York


def test_next_due_is_todays_time_or_tomorrows() -> None:
    assert next_due(LONDON, utc(11, 20, 6)) == utc(11, 20, 8, 30)
    assert next_due(LONDON, utc(11, 20, 9)) == utc(11, 21, 8, 30)


def test_yesterday_is_the_24_hours_before_local_midnight() -> None:
    window = reported_window(NEW_YORK, date(2026, 11, 20))
    assert (window.day, window.start, window.end) == (date(2026, 11, 19), utc(11, 19, 5), utc(11, 20, 5))


def due_in(ticket: Ticket, minutes: float, **changes: object) -> Ticket:
    sla = replace(ticket.sla, first_response_due=NOW + timedelta(minutes=minutes), **changes)  # type: ignore[arg-type]
    return replace(ticket, sla=sla)


def test_at_risk_is_breached_warned_or_due_soon_most_urgent_first() -> None:
    base = a_ticket()
    breached = replace(due_in(base, 300, breached=True), id="T-BREACHED")
    warned = replace(due_in(base, 200), id="T-WARNED")
    soon = replace(due_in(base, 30), id="T-SOON", priority=Priority.LOW)
    soon_critical = replace(due_in(base, 30), id="T-SOON-CRIT", priority=Priority.CRITICAL)
    overdue = replace(due_in(base, -10), id="T-OVERDUE")
    calm = replace(due_in(base, 600), id="T-CALM")
    ranked = rank_at_risk([calm, soon, warned, overdue, breached, soon_critical], NOW, warned={"T-WARNED"})
    assert [t.id for t in ranked] == ["T-BREACHED", "T-OVERDUE", "T-SOON-CRIT", "T-SOON", "T-WARNED"]
