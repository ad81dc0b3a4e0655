"""The dashboard's sign-in link in Slack: a link button (never text Slack would fetch to unfurl), in an ephemeral
message or a modal, and the refusal; the App Home carries the "Open dashboard" button."""

from __future__ import annotations

import json

from blocks import dashboard
from blocks.home import HomeStats, build_home
from blocks.ids import Action
from tests.ticketing.builders import NOW

from .slack_checks import check_view

URL = "https://desk.example/dashboard/login/abc.def"


def test_the_link_is_a_button_target_only() -> None:
    text, blocks = dashboard.link_blocks(URL, 10)
    payload = json.dumps([b.to_dict() for b in blocks])
    assert URL not in text and payload.count(URL) == 1 and "10 minutes" in text
    button = blocks[1].to_dict()["elements"][0]
    assert button["url"] == URL and button["action_id"] == Action.DASHBOARD_LINK


def test_the_modals_are_valid_views() -> None:
    link = check_view(dashboard.link_modal(URL, 10))
    assert URL in json.dumps(link) and "submit" not in link
    refused = check_view(dashboard.refused_modal())
    assert dashboard.REFUSED in json.dumps(refused) and URL not in json.dumps(refused)


def test_the_app_home_has_the_open_dashboard_button() -> None:
    home = check_view(build_home("Sam", [], [], HomeStats(), NOW))
    last = home["blocks"][-1]
    assert last["type"] == "actions" and last["elements"][0]["action_id"] == Action.OPEN_DASHBOARD
