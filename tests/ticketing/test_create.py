"""The creation path: classification in, priority, SLA, team, opening message, metadata and routing out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ticketing.classify import classify
from ticketing.create import NewTicket, Routing, apply_given_category
from ticketing.errors import InvalidTransition
from ticketing.model import (
    Attachment,
    Author,
    Category,
    Classification,
    Priority,
    Source,
    Status,
    TicketType,
    Tier,
    Visibility,
)
from ticketing.routing import AgentLoad

from .builders import NOW, PATTERNS, a_customer, a_request, an_agent, created_ticket

THREE_HOURS_AGO = NOW - timedelta(hours=3)
FORM_REQUEST = a_request(
    customer=a_customer(tier=Tier.PROFESSIONAL),
    subject="Enquiry form",
    description="My enquiry form won't save the new date field",
)
BROCHURE = Attachment("brochure.pdf", "application/pdf", 52_000, "ab" * 32)


def test_a_new_ticket_gets_its_classification_priority_sla_and_team() -> None:
    created = created_ticket(FORM_REQUEST)
    ticket = created.ticket

    assert (ticket.category, ticket.type) == (Category.FORM_BUILDER, TicketType.BUG)
    assert ticket.tags == ("forms", "data_loss")
    assert ticket.classification.template == "form_save_troubleshooting"
    # A professional customer's bug: medium by the bug rule, 960 / 4320 minutes.
    assert (ticket.priority, created.priority_rule) == (Priority.MEDIUM, "a bug")
    assert ticket.sla.first_response_due == NOW + timedelta(minutes=960)
    assert ticket.sla.resolution_due == NOW + timedelta(minutes=4320)
    assert ticket.team == "technical_team"
    assert ticket.id.startswith("FB-")
    assert ticket.status is Status.OPEN
    assert (ticket.subject, ticket.description) == ("Enquiry form", "My enquiry form won't save the new date field")


def test_a_new_ticket_starts_with_a_fresh_timeline() -> None:
    timeline = created_ticket(FORM_REQUEST).ticket.timeline
    assert (timeline.created, timeline.last_update) == (NOW, NOW)
    assert (timeline.first_response, timeline.resolved, timeline.closed) == (None, None, None)


def test_the_description_becomes_the_opening_customer_message() -> None:
    request = a_request(description="Our guest list import stopped halfway", attachments=(BROCHURE,))
    ticket = created_ticket(request).ticket

    (opening,) = ticket.messages
    assert opening.id == f"{ticket.id}-1"
    assert (opening.author, opening.visibility) == (Author.CUSTOMER, Visibility.PUBLIC)
    assert opening.body == "Our guest list import stopped halfway"
    assert opening.created_at == NOW
    assert opening.sender == "amelia@lakesidephotography.co.uk"
    assert opening.attachments == (BROCHURE,)
    assert ticket.attachments == (BROCHURE,)


def test_a_given_message_id_names_the_opening_message() -> None:
    ticket = created_ticket(a_request(message_id="<CAF123@mail.gmail.com>")).ticket
    assert ticket.messages[0].id == "<CAF123@mail.gmail.com>"


def test_an_imported_ticket_keeps_its_own_creation_time_but_is_updated_now() -> None:
    ticket = created_ticket(a_request(created_at=THREE_HOURS_AGO)).ticket
    assert ticket.timeline.created == THREE_HOURS_AGO
    assert ticket.messages[0].created_at == THREE_HOURS_AGO
    assert ticket.timeline.last_update == NOW
    # Low priority for a free customer: 1440 / 7200 minutes from three hours ago.
    assert ticket.sla.first_response_due == THREE_HOURS_AGO + timedelta(minutes=1440)
    assert ticket.sla.resolution_due == THREE_HOURS_AGO + timedelta(minutes=7200)


def test_an_imported_priority_overrides_the_rules_and_sets_the_sla() -> None:
    created = created_ticket(a_request(priority=Priority.CRITICAL, customer=a_customer(tier=Tier.SCALE)))
    assert (created.ticket.priority, created.priority_rule) == (Priority.CRITICAL, "given on import")
    assert created.ticket.sla.first_response_minutes == 30
    assert created.ticket.sla.resolution_minutes == 240


def test_metadata_comes_from_the_request_and_the_customer() -> None:
    customer = a_customer(account_created_at=NOW - timedelta(days=400, hours=5), previous_tickets=7)
    request = a_request(
        customer=customer,
        source=Source.CHAT,
        browser="Safari 17",
        os="iOS 17.5",
        app_version="4.12.0",
        extra={"wedding_date": "2025-09-20"},
    )
    metadata = created_ticket(request).ticket.metadata
    assert (metadata.source, metadata.browser, metadata.os, metadata.app_version) == (
        Source.CHAT, "Safari 17", "iOS 17.5", "4.12.0",
    )
    assert metadata.account_age_days == 400
    assert metadata.previous_tickets == 7
    assert metadata.extra == {"wedding_date": "2025-09-20"}


@pytest.mark.parametrize(
    ("account_created_at", "age"),
    [
        pytest.param(None, None, id="an unknown account age stays unknown"),
        pytest.param(NOW - timedelta(hours=23), 0, id="a customer who signed up today is zero days old"),
        pytest.param(NOW + timedelta(days=2), 0, id="an account date in the future counts as zero days"),
    ],
)
def test_the_account_age_is_whole_days_never_negative(account_created_at: object, age: int | None) -> None:
    request = a_request(customer=a_customer(account_created_at=account_created_at))
    assert created_ticket(request).ticket.metadata.account_age_days == age


def test_the_extra_metadata_is_a_copy_of_what_the_request_carried() -> None:
    extra = {"venue": "Lakeside Barn"}
    ticket = created_ticket(a_request(extra=extra)).ticket
    extra["venue"] = "changed after creation"
    assert ticket.metadata.extra == {"venue": "Lakeside Barn"}


# --- routing at creation ------------------------------------------------------------------------------

TECH_AGENTS = (
    an_agent(slack_id="U_JUNIOR", team="technical_team", expertise=1),
    an_agent(slack_id="U_EXPERT", team="technical_team", expertise=3, skills=("form_builder",)),
    an_agent(slack_id="U_BILLING", team="billing_team", expertise=5, skills=("form_builder",)),
)


def test_a_new_ticket_is_assigned_to_the_best_agent_of_its_team() -> None:
    created = created_ticket(FORM_REQUEST, routing=Routing(TECH_AGENTS, {}))
    assert created.ticket.assignee == "U_EXPERT"
    assert created.ticket.assigned_at == NOW
    assert created.routed_by is not None
    assert (created.routed_by.agent.slack_id, created.routed_by.total) == ("U_EXPERT", 30 + 30 + 15 + 10)


def test_a_new_ticket_with_no_willing_agent_waits_in_the_queue() -> None:
    loads = {"U_JUNIOR": AgentLoad(open_tickets=20), "U_EXPERT": AgentLoad(open_tickets=20)}
    created = created_ticket(FORM_REQUEST, routing=Routing(TECH_AGENTS, loads))
    assert (created.ticket.assignee, created.ticket.assigned_at, created.routed_by) == (None, None, None)


def test_a_given_assignee_is_kept_and_routing_is_skipped() -> None:
    created = created_ticket(replace(FORM_REQUEST, assignee="U_JUNIOR"), routing=Routing(TECH_AGENTS, {}))
    assert (created.ticket.assignee, created.ticket.assigned_at) == ("U_JUNIOR", NOW)
    assert created.routed_by is None


# --- a category given with the request ----------------------------------------------------------------


def _found(request: NewTicket) -> Classification:
    return classify(request.subject, request.description, PATTERNS)


def test_without_a_given_category_the_classification_is_kept() -> None:
    found = _found(FORM_REQUEST)
    assert apply_given_category(FORM_REQUEST, found) == found


def test_a_given_category_equal_to_the_found_one_keeps_the_classification() -> None:
    request = replace(FORM_REQUEST, category=Category.FORM_BUILDER)
    found = _found(request)
    assert apply_given_category(request, found) == found


def test_a_given_category_that_differs_wins_with_full_confidence() -> None:
    request = replace(FORM_REQUEST, category=Category.BILLING)
    given = apply_given_category(request, _found(request))

    assert given.category is Category.BILLING
    assert (given.template, given.confidence, given.source) == (None, 1.0, "given")
    assert given.reason == "category given with the request"

    ticket = created_ticket(request, classification=given).ticket
    assert (ticket.category, ticket.team) == (Category.BILLING, "billing_team")
    assert ticket.id.startswith("BIL-")


# --- known problems -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [pytest.param(s, id=f"an imported {s.value} ticket") for s in (Status.RESOLVED, Status.CLOSED)]
)
def test_a_new_ticket_cannot_start_resolved_or_closed(status: Status) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot start {status.value}"):
        created_ticket(a_request(status=status, created_at=THREE_HOURS_AGO))
