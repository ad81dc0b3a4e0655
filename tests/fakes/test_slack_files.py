"""The Slack stand-in's files: slack_sdk's own `files_upload_v2` against it, files.info, url_private with the bot
token, a person's file for events, and an answer lost after the work was done."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import SlackApi

CONTENT = bytes(range(256)) * 10


@pytest.fixture
async def client(slack_api: SlackApi) -> AsyncIterator[AsyncWebClient]:
    client = AsyncWebClient(token=slack_api.token, base_url=slack_api.url)
    yield client
    if client.session is not None:
        await client.session.close()


async def _thread(client: AsyncWebClient) -> tuple[str, str]:
    posted = await client.chat_postMessage(channel="CBILLING01", text="card")
    return "CBILLING01", str(posted["ts"])


async def test_slack_sdks_files_upload_v2_shares_the_file_in_the_thread(client: AsyncWebClient,
                                                                      slack_api: SlackApi) -> None:
    channel, ts = await _thread(client)
    done = await client.files_upload_v2(channel=channel, thread_ts=ts, file=CONTENT, filename="plan.pdf",
                                        title="Seating plan")
    file = done["file"]
    assert file["id"].startswith("F") and file["title"] == "Seating plan"
    (shown,) = slack_api.files_in(channel, ts)
    assert shown["name"] == "plan.pdf" and shown["content"] == CONTENT
    info = (await client.files_info(file=file["id"]))["file"]
    assert info["shares"]["public"][channel][0]["thread_ts"] == ts and info["size"] == len(CONTENT)


async def test_url_private_answers_the_bytes_to_the_bot_token_only(client: AsyncWebClient, slack_api: SlackApi
                                                                    ) -> None:
    file = slack_api.add_file("UAGENT0001", "guide.pdf", CONTENT, "application/pdf")
    async with aiohttp.ClientSession() as http:
        async with http.get(file["url_private_download"],
                            headers={"Authorization": f"Bearer {slack_api.token}"}) as answer:
            assert answer.status == 200 and await answer.read() == CONTENT
        async with http.get(file["url_private"]) as anonymous:
            assert anonymous.status == 403
    assert (await client.files_info(file=file["id"]))["file"]["name"] == "guide.pdf"


async def test_completing_an_unknown_or_not_uploaded_file_is_file_not_found(client: AsyncWebClient) -> None:
    channel, ts = await _thread(client)
    got = await client.files_getUploadURLExternal(filename="a.pdf", length=10)
    with pytest.raises(SlackApiError) as refused:
        await client.files_completeUploadExternal(files=[{"id": got["file_id"], "title": "a"}], channel_id=channel,
                                                  thread_ts=ts)
    assert refused.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as unknown:
        await client.files_info(file="F0NOSUCHFILE")
    assert unknown.value.response["error"] == "file_not_found"


async def test_a_lost_answer_did_the_work_and_completing_again_shares_nothing_twice(
    client: AsyncWebClient, slack_api: SlackApi
) -> None:
    channel, ts = await _thread(client)
    got = await client.files_getUploadURLExternal(filename="a.pdf", length=len(CONTENT))
    async with aiohttp.ClientSession() as http, http.post(got["upload_url"], data=CONTENT) as answer:
        assert answer.status == 200
    slack_api.lose_answer_next("files.completeUploadExternal")
    files = [{"id": got["file_id"], "title": "a.pdf"}]
    with pytest.raises(SlackApiError):
        await client.files_completeUploadExternal(files=files, channel_id=channel, thread_ts=ts)
    assert len(slack_api.files_in(channel, ts)) == 1  # shared, although the client heard a 500
    await client.files_completeUploadExternal(files=files, channel_id=channel, thread_ts=ts)
    assert len(slack_api.files_in(channel, ts)) == 1
