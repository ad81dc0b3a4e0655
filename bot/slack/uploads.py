"""A customer's attachment into the ticket's thread: uploaded (Slack previews it) or named with why not.

The upload is Slack's files.uploadV2 sequence (files.getUploadURLExternal, the bytes to the URL it answers,
files.completeUploadExternal), taken step by step instead of through slack_sdk's `files_upload_v2` wrapper:
the wrapper gives no file id until the share is complete, so a lost answer to the last step would make the
outbox's retry upload and share the file a second time. Here the file id is saved in the outbox row as soon
as the bytes are uploaded; a retry asks files.info whether that file is shared in the thread already, and
completes it only if not.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError

from blocks.files import build_attachment_note
from bot.slack.client import error_code
from db import mail as mail_store
from db import outbox
from ticketing.attachments import Showing, decide_showing, number_of

if TYPE_CHECKING:
    from bot.slack.poster import SlackPoster

log = logging.getLogger(__name__)
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


async def deliver_file(poster: SlackPoster, item_id: int | None, payload: dict[str, Any], thread: tuple[str, str]
                       ) -> dict[str, Any]:
    ticket = await poster._ticket(payload["ticket_id"])
    found = number_of(ticket, payload["message_id"], int(payload["index"]))
    if found is None:
        return {"skipped": "attachment not found"}
    attachment, settings = found.attachment, poster.desk.settings
    async with poster.desk.db.sessions() as session:
        content = await mail_store.load_blob(session, attachment.sha256)
    showing = decide_showing(attachment, kept=content is not None, max_bytes=settings.slack_file_max_bytes)
    if showing is Showing.SKIP:
        return {"skipped": "small inline image"}
    if showing is not Showing.UPLOAD or content is None:
        limit = settings.slack_file_max_bytes
        text, blocks = build_attachment_note(ticket.id, found.number, attachment, showing, limit)
        return await poster.post(thread[0], text, blocks, thread_ts=thread[1])
    poster.take_turn(thread[0])  # a shared file is a message in the channel: paced like one
    file_id = payload.get("file_id")
    if file_id and await _shared_in_thread(poster, str(file_id), thread):
        return {"file_id": file_id, "found_shared": True}  # the last try's answer was lost, not its work
    if not file_id:
        file_id = await _upload(poster, item_id, payload, attachment.filename, content)
    try:
        await _complete(poster, str(file_id), attachment.filename, thread)
    except SlackApiError as error:
        if error_code(error) != "file_not_found":
            raise
        file_id = await _upload(poster, item_id, payload, attachment.filename, content)  # the upload expired
        await _complete(poster, file_id, attachment.filename, thread)
    log.info("attachment %d of ticket %s uploaded to its thread (file %s)", found.number, ticket.id, file_id)
    return {"file_id": file_id}


async def _shared_in_thread(poster: SlackPoster, file_id: str, thread: tuple[str, str]) -> bool:
    try:
        info = await poster._call("files_info", thread[0], file=file_id)
    except SlackApiError as error:
        if error_code(error) == "file_not_found":  # uploaded, never completed
            return False
        raise
    shares = (info.get("file") or {}).get("shares") or {}
    for kind in ("public", "private"):
        for share in (shares.get(kind) or {}).get(thread[0], []):
            if share.get("thread_ts") == thread[1] or share.get("ts") == thread[1]:
                return True
    return False


async def _upload(poster: SlackPoster, item_id: int | None, payload: dict[str, Any], filename: str, content: bytes
                  ) -> str:
    """The bytes to a fresh upload URL; the file id is saved in the outbox row before anything else happens."""
    got = await poster._call("files_getUploadURLExternal", "", filename=filename or "attachment",
                             length=len(content))
    file_id, url = str(got["file_id"]), str(got["upload_url"])
    await post_bytes(poster.client.session, url, content)
    if item_id is not None:
        async with poster.desk.db.transaction() as session:
            await outbox.set_payload(session, item_id, {**payload, "file_id": file_id})
    return file_id


async def _complete(poster: SlackPoster, file_id: str, title: str, thread: tuple[str, str]) -> None:
    await poster._call("files_completeUploadExternal", thread[0], files=[{"id": file_id, "title": title or file_id}],
                       channel_id=thread[0], thread_ts=thread[1])


async def post_bytes(session: aiohttp.ClientSession | None, url: str, content: bytes) -> None:
    """POST to Slack's upload URL (the URL itself is the permission: no token goes with it)."""
    own = session is None
    http = session if session is not None else aiohttp.ClientSession()
    try:
        async with http.post(url, data=content, timeout=UPLOAD_TIMEOUT) as answer:
            if answer.status != 200:
                raise OSError(f"the upload URL answered {answer.status}")
    except aiohttp.ClientError as error:
        raise OSError(f"upload failed: {type(error).__name__}") from None
    finally:
        if own:
            await http.close()
