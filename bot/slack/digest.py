"""A digest's outbox row delivered: the message in its channel, then the volume chart into the message's thread.

Steps, each saved in the row's payload as soon as it is done, so a retry (after a 429 or 5xx the client's retry
handlers gave up on, a restart, a lease that ran out) goes on from where the last try stopped:

1. chat.postMessage with the digest's blocks and metadata naming its run; the message's ts is saved. A try
   whose answer was lost (the message is in the channel, the desk never heard) is found again on the next
   try in the channel's recent history by that metadata, so the message is not posted twice. (So this one
   call is not retried on a 5xx inside slack_sdk, which would post it again unseen; a 429 is.)
2. The chart with files.uploadV2's steps (bot/slack/uploads.py): the file id saved once the bytes are up, a
   retry asks files.info whether the file is shared in the thread already and completes it only if not.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import error_code
from bot.slack.uploads import _complete, _shared_in_thread, _upload
from db import mail as mail_store
from db import outbox

if TYPE_CHECKING:
    from bot.slack.poster import SlackPoster

log = logging.getLogger(__name__)
EVENT_TYPE = "wedsync_digest"
HISTORY_LOOKED_AT = 200  # the channel's messages since the claim (Slack's page: up to 999)
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


async def deliver_digest(poster: SlackPoster, item_id: int | None, payload: dict[str, Any]) -> dict[str, Any]:
    channel = str(payload["channel"])
    if not payload.get("ts"):
        ts = await _posted_before(poster, channel, payload)
        if ts is None:
            payload = await mark_tried(poster, item_id, payload)
            ts = await _post(poster, channel, payload)
        payload = {**payload, "ts": ts}
        await _save(poster, item_id, payload)
    thread = (channel, str(payload["ts"]))
    result: dict[str, Any] = {"channel": channel, "ts": thread[1]}
    async with poster.desk.db.sessions() as session:
        chart = await mail_store.load_blob(session, str(payload["chart_sha256"]))
    if chart is None:
        return {**result, "chart": "not kept"}
    poster.take_turn(channel)  # a shared file is a message in the channel: paced like one
    file_id = payload.get("file_id")
    if file_id and await _shared_in_thread(poster, str(file_id), thread):
        return {**result, "file_id": file_id, "found_shared": True}
    name, title = str(payload["chart_name"]), str(payload.get("chart_title") or payload["chart_name"])
    if not file_id:
        file_id = await _upload(poster, item_id, payload, name, chart)
    try:
        await _complete(poster, str(file_id), title, thread)
    except SlackApiError as error:
        if error_code(error) != "file_not_found":
            raise
        file_id = await _upload(poster, item_id, payload, name, chart)  # the upload expired
        await _complete(poster, file_id, title, thread)
    log.info("digest of %s for %s posted (ts %s) with its chart (file %s)", channel, payload.get("day"), thread[1],
             file_id)
    return {**result, "file_id": file_id}


def _metadata(payload: dict[str, Any]) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"run": int(payload["run"]), "day": str(payload["day"])}}


def _once(client: AsyncWebClient) -> AsyncWebClient:
    """The poster's client without its retries of 5xx and dropped connections: a post whose answer was lost
    may have been made, and only the next try's look at the history knows. 429 (nothing done) is retried."""
    return AsyncWebClient(token=client.token, base_url=client.base_url, timeout=client.timeout,
                          session=client.session, retry_handlers=[
                              h for h in client.retry_handlers if isinstance(h, AsyncRateLimitErrorRetryHandler)])


async def _post(poster: SlackPoster, channel: str, payload: dict[str, Any]) -> str:
    poster.take_turn(channel)
    answer = await _once(poster.client).chat_postMessage(channel=channel, text=payload["text"],
                                                         blocks=payload["blocks"], metadata=_metadata(payload))
    return str(answer["ts"])


async def _posted_before(poster: SlackPoster, channel: str, payload: dict[str, Any]) -> str | None:
    """The ts of this run's message if an earlier try posted it (its answer lost); None when none did. A channel
    whose history the bot may not read (not a member) cannot tell: the message is posted."""
    if not payload.get("tried"):
        return None  # the first try: nothing can be there yet, no need to look
    try:
        # From an hour before the claim: the desk's clock and Slack's may differ a little.
        since = {"oldest": str(int(payload["claimed_at"]) - 3600)} if payload.get("claimed_at") else {}
        found = await poster._call("conversations_history", channel, channel=channel, limit=HISTORY_LOOKED_AT,
                                   include_all_metadata=True, **since)
    except SlackApiError as error:
        if error_code(error) in TRANSIENT:
            raise
        log.warning("cannot read %s's history (%s) to check for an earlier digest", channel, error_code(error))
        return None
    wanted = _metadata(payload)
    for message in found.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == EVENT_TYPE and metadata.get("event_payload") == wanted["event_payload"]:
            return str(message["ts"])
    return None


async def mark_tried(poster: SlackPoster, item_id: int | None, payload: dict[str, Any]) -> dict[str, Any]:
    """Noted before the first post: a later try looks for the message in the channel first."""
    if payload.get("tried") or payload.get("ts"):
        return payload
    payload = {**payload, "tried": True}
    await _save(poster, item_id, payload)
    return payload


async def _save(poster: SlackPoster, item_id: int | None, payload: dict[str, Any]) -> None:
    if item_id is not None:
        async with poster.desk.db.transaction() as session:
            await outbox.set_payload(session, item_id, payload)
