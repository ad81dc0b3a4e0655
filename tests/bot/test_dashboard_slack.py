"""The dashboard's way in from Slack, through the Bolt app receiving signed requests and the Slack stand-in:
`/ticket dashboard` answers a person of support.yml with a one-use link button (the lead and the manager too,
who are not agents), a stranger with a refusal; the App Home's "Open dashboard" opens a modal with the link, or the
refusal. The link starts a session on the same server that serves Slack."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from blocks.dashboard import REFUSED
from blocks.ids import Action, Callback
from bot.dashboard_access import COOKIE
from bot.serve import Running
from tests.bot.dashboard_helpers import BEA, LEAD, MANAGER, STRANGER, path_of
from tests.bot.slack_desk import running_fixture, sender_fixture  # noqa: F401
from tests.bot.slack_helpers import SlackSender, button
from tests.bot.test_email_flow import eventually
from tests.fakes.slack_api import SlackApi, slack_api_fixture  # noqa: F401

CHANNEL = "CBILLING01"


def link_in(blocks: list[dict[str, Any]]) -> str | None:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == Action.DASHBOARD_LINK and element.get("url"):
                return str(element["url"])
    return None


async def opens(running: Running, url: str) -> int:
    """Follow a link from Slack on the server that serves Slack; the page's status after the sign-in."""
    assert running.slack is not None and running.slack.http is not None
    base = f"http://127.0.0.1:{running.slack.http.port}"
    async with aiohttp.ClientSession() as client:
        async with client.get(base + path_of(url), allow_redirects=False) as response:
            if response.status != 303:
                return response.status
            cookie = response.cookies[COOKIE].value
        async with client.get(base + "/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as page:
            return page.status


def home_click(user: str, trigger_id: str) -> dict[str, Any]:
    payload = button(user, Action.OPEN_DASHBOARD, "dashboard", "", trigger_id)
    del payload["channel"]
    payload["container"] = {"type": "view", "view_id": "VHOME00001"}
    return payload


async def test_the_command_gives_people_a_one_use_link_and_strangers_a_refusal(
    running: Running, sender: SlackSender, slack_api: SlackApi
) -> None:
    for user in (BEA, LEAD, MANAGER, STRANGER):
        assert (await sender.command(user, "dashboard", CHANNEL, slack_api.new_trigger_id()))[0] == 200

    async def answered(user: str) -> dict[str, Any] | None:
        found = slack_api.ephemerals(CHANNEL, user)
        return found[-1] if found else None

    for user in (BEA, LEAD, MANAGER):
        message = await eventually(lambda user=user: answered(user))  # type: ignore[misc]
        url = link_in(message.get("blocks") or [])
        assert url is not None and "/dashboard/login/" in url and url not in message["text"]
        assert await opens(running, url) == 200
        assert await opens(running, url) == 403  # once only
    refusal = await eventually(lambda: answered(STRANGER))
    assert refusal["text"] == REFUSED and link_in(refusal.get("blocks") or []) is None


async def test_the_app_home_button_opens_a_modal_with_the_link_or_the_refusal(
    running: Running, sender: SlackSender, slack_api: SlackApi
) -> None:
    await sender.event({"type": "app_home_opened", "user": BEA, "channel": "D0HOME0001", "tab": "home"})
    home = await eventually(lambda: _home(slack_api, BEA))
    assert Action.OPEN_DASHBOARD.value in json.dumps(home["blocks"])
    assert (await sender.interaction(home_click(MANAGER, slack_api.new_trigger_id())))[0] == 200
    modal = await eventually(lambda: _modal(slack_api, 1))
    url = link_in(modal["blocks"])
    assert url is not None and await opens(running, url) == 200
    assert (await sender.interaction(home_click(STRANGER, slack_api.new_trigger_id())))[0] == 200
    refused = await eventually(lambda: _modal(slack_api, 2))
    assert link_in(refused["blocks"]) is None and "only for the agents, leads, managers" in json.dumps(refused)


async def _home(slack_api: SlackApi, user: str) -> dict[str, Any] | None:
    return slack_api.home(user)


async def _modal(slack_api: SlackApi, count: int) -> dict[str, Any] | None:
    found = [v for v in slack_api.views if v.get("callback_id") == Callback.DASHBOARD_MODAL]
    return found[-1] if len(found) >= count else None
