"""Canned responses: six known variables, checked when saved, filled in when sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketing.canned import (
    DEFAULT_COMPANY,
    VARIABLES,
    CannedResponse,
    build_canned_response,
    render,
    template_values,
    variables_in,
)
from ticketing.errors import TemplateError

from .builders import a_customer, a_request, a_ticket

TICKET = a_ticket(request=a_request(subject="Form", description="My enquiry form won't save"))


def test_the_six_variables_are_the_documented_ones() -> None:
    assert {"customer_name", "ticket_id", "category", "created_date", "agent_name", "company"} == VARIABLES


def test_the_company_defaults_to_wedsync() -> None:
    assert DEFAULT_COMPANY == "WedSync"
    assert template_values(TICKET, "Sam")["company"] == "WedSync"


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        pytest.param("customer_name", "Amelia Hart", id="customer_name is the customers name"),
        pytest.param("ticket_id", TICKET.id, id="ticket_id is the ticket id"),
        pytest.param("category", "form builder", id="category reads as words"),
        pytest.param("created_date", "11 June 2025", id="created_date is day month year"),
        pytest.param("agent_name", "Sam Patel", id="agent_name is the replying agent"),
        pytest.param("company", "WedSync", id="company is WedSync by default"),
    ],
)
def test_rendering_fills_each_variable(variable: str, expected: str) -> None:
    response = build_canned_response("one variable", f"<{{{variable}}}>")
    assert render(response, template_values(TICKET, "Sam Patel")) == f"<{expected}>"


def test_a_whole_template_renders_with_every_variable_filled() -> None:
    response = build_canned_response(
        "form help",
        "Hi {customer_name},\nThanks for ticket {ticket_id} about {category}, opened {created_date}.\n"
        "{agent_name} at {company}",
    )
    text = render(response, template_values(TICKET, "Sam Patel", company="WedMe"))
    assert text == (
        f"Hi Amelia Hart,\nThanks for ticket {TICKET.id} about form builder, opened 11 June 2025.\n"
        "Sam Patel at WedMe"
    )


def test_a_variable_used_twice_is_filled_twice() -> None:
    response = build_canned_response("twice", "{agent_name} / {agent_name}")
    assert render(response, template_values(TICKET, "Sam")) == "Sam / Sam"


def test_a_customer_without_a_name_is_greeted_by_the_start_of_their_email() -> None:
    ticket = a_ticket(customer=a_customer(name="", email="bloomandvine@example.com"))
    assert template_values(ticket, "Sam")["customer_name"] == "bloomandvine"


def test_a_single_digit_day_has_no_leading_zero() -> None:
    ticket = a_ticket(now=datetime(2025, 3, 3, 12, 0, tzinfo=UTC))
    assert template_values(ticket, "Sam")["created_date"] == "3 March 2025"


def test_a_value_that_looks_like_a_variable_is_not_filled_in_again() -> None:
    ticket = a_ticket(customer=a_customer(name="{ticket_id}"))
    response = build_canned_response("hello", "Hi {customer_name}")
    assert render(response, template_values(ticket, "Sam")) == "Hi {ticket_id}"


def test_a_variable_missing_from_the_values_is_left_as_written() -> None:
    response = build_canned_response("partial", "Hi {customer_name}, from {agent_name}")
    assert render(response, {"customer_name": "Amelia"}) == "Hi Amelia, from {agent_name}"


def test_text_without_variables_renders_unchanged() -> None:
    response = build_canned_response("plain", "Thanks, we are on it.")
    assert render(response, template_values(TICKET, "Sam")) == "Thanks, we are on it."


def test_variables_in_lists_each_variable_once_in_order_of_first_use() -> None:
    assert variables_in("{company} {agent_name} {company} {x}") == ("company", "agent_name", "x")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        pytest.param("Hi {first_name}", "{first_name}", id="first_name is unknown"),
        pytest.param("Hi {Customer_Name}", "{Customer_Name}", id="variables are case sensitive"),
        pytest.param("Ref {ticket}", "{ticket}", id="ticket is not ticket_id"),
        pytest.param("Hi {customer_name}, see {link}", "{link}", id="an unknown one among known ones"),
    ],
)
def test_an_unknown_variable_is_refused_when_saved_naming_the_variable(content: str, named: str) -> None:
    with pytest.raises(TemplateError) as refused:
        build_canned_response("greeting", content)
    message = str(refused.value)
    assert f"uses unknown variable(s) {named}" in message
    assert "'greeting'" in message
    assert "{customer_name}" in message.split("known:")[1]


def test_every_unknown_variable_is_named() -> None:
    with pytest.raises(TemplateError, match=r"\{venue\}, \{date\}"):
        build_canned_response("wedding", "See you at {venue} on {date}, {customer_name}")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("", "Hello", "needs a name", id="an empty name is refused"),
        pytest.param("   ", "Hello", "needs a name", id="a blank name is refused"),
        pytest.param("greeting", "", "has no content", id="empty content is refused"),
        pytest.param("greeting", " \n\t", "has no content", id="blank content is refused"),
    ],
)
def test_an_empty_name_or_content_is_refused(name: str, content: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        build_canned_response(name, content)


def test_a_saved_response_keeps_its_category_and_self_service_flag() -> None:
    response = build_canned_response("csv", "See the guide, {customer_name}.", "import_export", True)
    assert response == CannedResponse("csv", "See the guide, {customer_name}.", "import_export", True)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("Hi {customer-name}", id="a hyphenated placeholder"),
        pytest.param("Hi {customer name}", id="a placeholder with a space"),
    ],
)
def test_a_mistyped_placeholder_is_refused_when_saved(content: str) -> None:
    with pytest.raises(TemplateError):
        build_canned_response("greeting", content)
