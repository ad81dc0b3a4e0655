"""The Slack stand-in, exercised through slack_sdk's real AsyncWebClient and WebClient."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, HeaderBlock, SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import SlackApi, validate_blocks

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*BIL-1042* Payment failed"}}


@pytest.fixture
async def client(slack_api: SlackApi) -> AsyncIterator[AsyncWebClient]:
    client = AsyncWebClient(
        token=slack_api.token,
        base_url=slack_api.url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    yield client
    if client.session is not None:
        await client.session.close()


def error_of(info: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(info.value.response["error"])


# -- authentication and the server's plumbing ---------------------------------------------------------------


async def test_auth_test_answers_the_bot_identity(slack_api: SlackApi, client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == slack_api.bot_user_id
    assert answer["team_id"] == slack_api.team_id
    request = slack_api.calls("auth.test")[0]
    assert request.header("Authorization") == f"Bearer {slack_api.token}"


async def test_a_wrong_token_is_invalid_auth_and_none_is_not_authed(slack_api: SlackApi) -> None:
    with pytest.raises(SlackApiError) as wrong:
        await AsyncWebClient(token="xoxb-not-the-token", base_url=slack_api.url).auth_test()
    assert error_of(wrong) == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=slack_api.url).auth_test()
    assert error_of(missing) == "not_authed"
    assert [r.status for r in slack_api.requests] == [200, 200]  # Slack reports these with HTTP 200


async def test_an_unknown_method_is_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.api_call("chat.teleport", json={"channel": "C1"})
    assert error_of(info) == "unknown_method"


def test_stop_and_start_keep_the_url_and_the_record() -> None:
    api = SlackApi().start()
    try:
        url = api.url
        WebClient(token=api.token, base_url=url).auth_test()
        api.stop()
        with pytest.raises(Exception):  # noqa: B017  the service is away: urllib's URLError
            WebClient(token=api.token, base_url=url).auth_test()
        api.start()
        assert api.url == url
        WebClient(token=api.token, base_url=url).auth_test()
        assert len(api.calls("auth.test")) == 2
    finally:
        api.stop()


# -- rate limits, server errors, slowness -----------------------------------------------------------------


async def test_a_429_is_retried_after_retry_after_then_gets_through(
    slack_api: SlackApi, client: AsyncWebClient
) -> None:
    slack_api.fail_next(429, retry_after=0)
    answer = await client.chat_postMessage(channel="CBILLING01", text="New ticket", blocks=[SECTION])
    assert answer["ok"] is True
    first, second = slack_api.calls("chat.postMessage")
    assert first.status == 429
    assert first.response == {"ok": False, "error": "ratelimited"}
    assert first.injected == ["fail"]
    assert second.status == 200
    assert [m["text"] for m in slack_api.messages("CBILLING01")] == ["New ticket"]  # delivered once


async def test_without_a_retry_handler_the_429_reaches_the_caller_with_retry_after(slack_api: SlackApi) -> None:
    slack_api.fail_next(429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await AsyncWebClient(token=slack_api.token, base_url=slack_api.url).chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert error_of(info) == "ratelimited"
    assert info.value.response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [500, 503])
async def test_a_server_error_is_retried_by_the_server_error_handler(
    slack_api: SlackApi, client: AsyncWebClient, status: int
) -> None:
    slack_api.fail_next(status, path="conversations.open")
    answer = await client.conversations_open(users="UAGENT0001")
    assert answer["channel"]["id"].startswith("D")
    assert [r.status for r in slack_api.calls("conversations.open")] == [status, 200]


async def test_server_errors_beyond_the_retries_raise(slack_api: SlackApi, client: AsyncWebClient) -> None:
    slack_api.fail_next(500, times=3)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 500
    assert slack_api.messages("C1") == []


async def test_failures_only_hit_the_path_they_were_queued_for(slack_api: SlackApi, client: AsyncWebClient) -> None:
    slack_api.fail_next(500, path="chat.update")
    posted = await client.chat_postMessage(channel="C1", text="first")
    assert slack_api.calls("chat.postMessage")[0].status == 200
    await client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert [r.status for r in slack_api.calls("chat.update")] == [500, 200]


async def test_a_slow_answer_times_the_client_out(slack_api: SlackApi) -> None:
    slack_api.slow_next(3.0)
    client = AsyncWebClient(token=slack_api.token, base_url=slack_api.url, timeout=1)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await client.auth_test()
    assert time.monotonic() - started < 2.5
    assert slack_api.requests[0].injected == ["slow"]


async def test_error_next_answers_an_ordinary_slack_error(slack_api: SlackApi, client: AsyncWebClient) -> None:
    slack_api.error_next("channel_not_found", path="chat.postMessage")
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="CGONE00001", text="x")
    assert error_of(info) == "channel_not_found"
    assert (await client.chat_postMessage(channel="CGONE00001", text="x"))["ok"] is True


# -- blocks ----------------------------------------------------------------------------------------------


async def test_blocks_built_with_the_sdk_models_are_accepted(slack_api: SlackApi, client: AsyncWebClient) -> None:
    blocks = [
        HeaderBlock(text="Payment failed"),
        SectionBlock(text="*Customer:* bride@example.com"),
        ActionsBlock(elements=[ButtonElement(text="Claim", action_id="claim", value="BIL-1042")]),
    ]
    answer = await client.chat_postMessage(channel="C1", text="Payment failed", blocks=blocks)
    assert answer["message"]["blocks"][2]["elements"][0]["action_id"] == "claim"
    assert slack_api.invalid == []
    slack_api.assert_no_invalid()


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "3000"),
        ([{"type": "wormhole"}], "unknown block type"),
        ([{"type": "section"}], "text or fields"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "more than 0 characters"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "Hi"}}], "plain_text"),
        (
            [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}]}],
            "75",
        ),
        ([{"type": "actions", "elements": [{"type": "teleporter"}]}], "unknown element type"),
        ([{"type": "context", "elements": []}], "1 to 10 elements"),
        ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "duplicate block_id"),
        ([{"type": "divider"}] * 51, "no more than 50 items"),
    ],
)
async def test_invalid_blocks_are_refused_and_recorded(
    slack_api: SlackApi, client: AsyncWebClient, blocks: list[dict[str, object]], problem: str
) -> None:
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert error_of(info) == "invalid_blocks"
    assert any(problem in message for message in info.value.response["response_metadata"]["messages"])
    [refused] = slack_api.invalid
    assert refused.method == "chat.postMessage"
    assert refused.payload == blocks
    assert any(problem in p for p in refused.problems)
    assert slack_api.messages("C1") == []
    with pytest.raises(AssertionError, match="refused"):
        slack_api.assert_no_invalid()


def test_validate_blocks_works_without_a_server() -> None:
    assert validate_blocks([SECTION]) == []
    assert validate_blocks([{"type": "divider"}] * 100, limit=100) == []
    assert validate_blocks("not a list") != []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_text_limits_and_missing_text(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as too_long:
        await client.chat_postMessage(channel="C1", text="x" * 40_001)
    assert error_of(too_long) == "msg_too_long"
    with pytest.raises(SlackApiError) as empty:
        await client.chat_postMessage(channel="C1", text="")
    assert error_of(empty) == "no_text"
    assert (await client.chat_postMessage(channel="C1", text="x" * 40_000))["ok"] is True


def test_blocks_sent_as_a_json_string_in_form_data_are_decoded(slack_api: SlackApi) -> None:
    """The sync WebClient with `data=` form-encodes; `blocks` then arrives as a JSON string."""
    client = WebClient(token=slack_api.token, base_url=slack_api.url)
    answer = client.api_call("chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": json.dumps([SECTION])})
    assert answer["message"]["blocks"] == [SECTION]
    request = slack_api.calls("chat.postMessage")[0]
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.body["blocks"] == json.dumps([SECTION])  # recorded as sent
    with pytest.raises(SlackApiError) as info:
        client.api_call("chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": '[{"type": "nope"}]'})
    assert error_of(info) == "invalid_blocks"
    with pytest.raises(SlackApiError) as garbled:
        client.api_call("chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": "[{not json"})
    assert error_of(garbled) == "invalid_blocks_format"


def test_the_sync_client_retries_a_429_too(slack_api: SlackApi) -> None:
    slack_api.fail_next(429, retry_after=0)
    client = WebClient(token=slack_api.token, base_url=slack_api.url, retry_handlers=[RateLimitErrorRetryHandler()])
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert [r.status for r in slack_api.calls("chat.postMessage")] == [429, 200]


# -- messages, threads, DMs -----------------------------------------------------------------------------------


async def test_update_replaces_the_message_the_channel_shows(slack_api: SlackApi, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="C1", text="Ticket BIL-1 open", blocks=[SECTION])
    await client.chat_postMessage(channel="C1", text="Ticket BIL-2 open")
    updated = await client.chat_update(channel="C1", ts=first["ts"], text="Ticket BIL-1 claimed by Bea")
    assert updated["ts"] == first["ts"]
    shown = slack_api.messages("C1")
    assert [m["text"] for m in shown] == ["Ticket BIL-1 claimed by Bea", "Ticket BIL-2 open"]
    assert shown[0]["blocks"] == [SECTION]  # blocks omitted from the update are kept, as Slack does
    assert "edited" in shown[0]
    await client.chat_update(channel="C1", ts=first["ts"], text="no blocks now", blocks=[])
    assert "blocks" not in slack_api.messages("C1")[0]


async def test_ts_are_unique_and_increasing(client: AsyncWebClient) -> None:
    stamps = [(await client.chat_postMessage(channel="C1", text=str(i)))["ts"] for i in range(20)]
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)
    seconds, micros = stamps[0].split(".")
    assert len(seconds) == 10 and len(micros) == 6


async def test_updating_what_is_not_there_or_not_ours_fails(slack_api: SlackApi, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C1", ts="1700000000.000100", text="x")
    assert error_of(missing) == "message_not_found"
    theirs = slack_api.post_as_user("C1", "UCUSTOMER1", "help please")
    with pytest.raises(SlackApiError) as not_ours:
        await client.chat_update(channel="C1", ts=theirs, text="x")
    assert error_of(not_ours) == "cant_update_message"


async def test_thread_replies_stay_in_the_thread(slack_api: SlackApi, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C1", text="Ticket BIL-1")
    await client.chat_postMessage(channel="C1", text="internal note", thread_ts=parent["ts"])
    broadcast = await client.chat_postMessage(
        channel="C1", text="resolved", thread_ts=parent["ts"], reply_broadcast=True
    )
    assert [m["text"] for m in slack_api.messages("C1")] == ["Ticket BIL-1", "resolved"]
    thread = slack_api.thread("C1", parent["ts"])
    assert [m["text"] for m in thread] == ["Ticket BIL-1", "internal note", "resolved"]
    assert thread[0]["reply_count"] == 2
    link = await client.chat_getPermalink(channel="C1", message_ts=broadcast["ts"])
    assert link["permalink"].endswith(f"?thread_ts={parent['ts']}&cid=C1")
    replies = await client.conversations_replies(channel="C1", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["Ticket BIL-1", "internal note", "resolved"]
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="x", thread_ts="1600000000.000001")
    assert error_of(info) == "thread_not_found"


async def test_conversations_open_gives_a_stable_dm_channel(slack_api: SlackApi, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users="UAGENT0001")
    again = await client.conversations_open(users="UAGENT0001")
    other = await client.conversations_open(users="UAGENT0002")
    dm = first["channel"]["id"]
    assert dm.startswith("D")
    assert again["channel"]["id"] == dm and again["already_open"] is True
    assert other["channel"]["id"] != dm
    assert slack_api.dm_channel("UAGENT0001") == dm
    request = slack_api.calls("conversations.open")[0]
    assert request.params["users"] == "UAGENT0001"
    posted = await client.chat_postMessage(channel="UAGENT0001", text="You were assigned BIL-1")
    assert posted["channel"] == dm  # posting to a user id lands in the DM, as Slack does
    assert [m["text"] for m in slack_api.messages(dm)] == ["You were assigned BIL-1"]


async def test_ephemeral_permalink_and_reactions(slack_api: SlackApi, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C1", user="UAGENT0001", text="Only you can see this")
    assert ephemeral["message_ts"]
    assert [e["text"] for e in slack_api.ephemerals("C1", user="UAGENT0001")] == ["Only you can see this"]
    assert slack_api.messages("C1") == []
    inbound = slack_api.post_as_user("C1", "UCUSTOMER1", "my card was charged twice")
    await client.reactions_add(channel="C1", timestamp=inbound, name="eyes")
    assert slack_api.message("C1", inbound)["reactions"] == [  # type: ignore[index]
        {"name": "eyes", "users": [slack_api.bot_user_id], "count": 1}
    ]
    with pytest.raises(SlackApiError) as again:
        await client.reactions_add(channel="C1", timestamp=inbound, name="eyes")
    assert error_of(again) == "already_reacted"
    link = await client.chat_getPermalink(channel="C1", message_ts=inbound)
    assert link["permalink"] == f"https://wedsync.slack.com/archives/C1/p{inbound.replace('.', '')}"
    assert slack_api.calls("chat.getPermalink")[0].method == "GET"


async def test_users_info_comes_from_the_configured_users() -> None:
    with SlackApi(users={"UAGENT0001": {"real_name": "Bea Billing", "email": "bea@wedsync.com"}}) as api:
        client = AsyncWebClient(token=api.token, base_url=api.url)
        user = (await client.users_info(user="UAGENT0001"))["user"]
        assert user["real_name"] == "Bea Billing"
        assert user["profile"]["email"] == "bea@wedsync.com"
        assert user["tz"] == "Europe/London"
        with pytest.raises(SlackApiError) as info:
            await client.users_info(user="UNOBODY001")
        assert error_of(info) == "user_not_found"
        api.add_user("UNEW000001", real_name="Nia New", tz="America/New_York")
        assert (await client.users_info(user="UNEW000001"))["user"]["tz"] == "America/New_York"


async def test_a_restricted_channel_list_refuses_other_channels() -> None:
    with SlackApi(channels={"CBILLING01"}) as api:
        client = AsyncWebClient(token=api.token, base_url=api.url)
        assert (await client.chat_postMessage(channel="CBILLING01", text="x"))["ok"] is True
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel="CTYPO00001", text="x")
        assert error_of(info) == "channel_not_found"


# -- views ----------------------------------------------------------------------------------------------------

MODAL = {
    "type": "modal",
    "callback_id": "reassign",
    "title": {"type": "plain_text", "text": "Reassign BIL-1"},
    "submit": {"type": "plain_text", "text": "Reassign"},
    "blocks": [
        {
            "type": "input",
            "block_id": "agent",
            "label": {"type": "plain_text", "text": "Agent"},
            "element": {"type": "users_select", "action_id": "agent"},
        }
    ],
}


async def test_views_open_update_push(slack_api: SlackApi, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=slack_api.new_trigger_id(), view=MODAL))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "reassign"
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Reassigned"}}
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert slack_api.view(opened["id"])["title"]["text"] == "Reassigned"  # type: ignore[index]
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert error_of(stale) == "hash_conflict"
    pushed = (await client.views_push(trigger_id=slack_api.new_trigger_id(), view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"] and pushed["root_view_id"] == opened["id"]
    assert [v["id"] for v in slack_api.views] == [opened["id"], pushed["id"]]


async def test_a_trigger_id_opens_one_view_only(slack_api: SlackApi, client: AsyncWebClient) -> None:
    trigger = slack_api.new_trigger_id()
    await client.views_open(trigger_id=trigger, view=MODAL)
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=trigger, view=MODAL)
    assert error_of(info) == "expired_trigger_id"


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        ({**MODAL, "submit": None}, "submit"),
        ({**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}, "24"),
        ({**MODAL, "title": None}, "title"),
        ({**MODAL, "blocks": [{"type": "divider"}] * 101}, "100"),
        ({**MODAL, "blocks": [{"type": "wormhole"}]}, "unknown block type"),
        ({**MODAL, "type": "home"}, "modal"),
    ],
)
async def test_invalid_views_are_refused_and_recorded(
    slack_api: SlackApi, client: AsyncWebClient, view: dict[str, object], problem: str
) -> None:
    view = {k: v for k, v in view.items() if v is not None}
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=slack_api.new_trigger_id(), view=view)
    assert error_of(info) == "invalid_blocks"
    [refused] = slack_api.invalid
    assert refused.method == "views.open" and refused.payload == view
    assert any(problem in p for p in refused.problems), refused.problems
    assert slack_api.views == []


async def test_views_publish_sets_the_home_tab(slack_api: SlackApi, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [SECTION]}
    published = (await client.views_publish(user_id="UAGENT0001", view=home))["view"]
    assert slack_api.home("UAGENT0001")["blocks"] == [SECTION]  # type: ignore[index]
    again = await client.views_publish(user_id="UAGENT0001", view={"type": "home", "blocks": [{"type": "divider"}]})
    assert again["view"]["id"] == published["id"]
    assert slack_api.home("UAGENT0001")["blocks"] == [{"type": "divider"}]  # type: ignore[index]
    with pytest.raises(SlackApiError):
        await client.views_publish(user_id="UAGENT0001", view=MODAL)
    assert slack_api.invalid[0].method == "views.publish"


# -- recording --------------------------------------------------------------------------------------------------


async def test_requests_are_recorded_with_their_bodies_and_clear_forgets(
    slack_api: SlackApi, client: AsyncWebClient
) -> None:
    before = time.time()
    await client.chat_postMessage(channel="C1", text="hi", blocks=[SECTION])
    request = slack_api.calls("chat.postMessage")[0]
    assert request.method == "POST" and request.path == "/api/chat.postMessage"
    assert request.content_type == "application/json"
    assert request.body == {"channel": "C1", "text": "hi", "blocks": [SECTION]}
    assert before <= request.time <= time.time()
    assert slack_api.calls("POST") == slack_api.requests
    assert slack_api.calls("GET") == []
    slack_api.fail_next(500)
    slack_api.clear()
    assert slack_api.requests == [] and slack_api.messages("C1") == []
    assert (await client.chat_postMessage(channel="C1", text="after clear"))["ok"] is True  # the failure went too


async def test_wait_for_async_sees_requests_made_in_the_background(slack_api: SlackApi, client: AsyncWebClient) -> None:
    task = asyncio.create_task(client.chat_postMessage(channel="C1", text="later"))
    [request] = await slack_api.wait_for_async("chat.postMessage", within=5)
    assert request.status == 200
    await task
