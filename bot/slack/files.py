"""Files an agent shares in Slack (in a ticket's thread or the Reply modal's file input), fetched so they can go
to the customer as MIME attachments.

Each file is looked up with files.info (its record comes from the API, not from the event or the form), then its
`url_private_download` is read with the bot token, which is sent only to Slack's own file host or to the host
SLACK_API_URL points at. Too big (over ATTACHMENT_CAP_BYTES) or a dangerous type (programs, scripts, web pages)
is refused with a message for the agent; the bytes are kept as a blob, like a customer's attachment.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.desk import Desk
from bot.slack.client import error_code
from db import mail as mail_store
from ticketing.attachments import human_size, is_dangerous
from ticketing.errors import UserFacingError
from ticketing.model import Attachment

log = logging.getLogger(__name__)
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
MAX_FILES = 10
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


def file_ids(files: Iterable[Any]) -> list[str]:
    """The ids of the files in an event's `files` or a file_input's value (objects with an "id")."""
    return [str(f["id"]) for f in files if isinstance(f, dict) and isinstance(f.get("id"), str) and f["id"]]


def attached_line(attachments: tuple[Attachment, ...]) -> str:
    """The reply's text when an agent shared files in the thread without writing anything."""
    return "Attached: " + ", ".join(a.filename for a in attachments) if attachments else ""


async def fetch_files(desk: Desk, client: AsyncWebClient, ids: list[str]) -> tuple[Attachment, ...]:
    """The files, downloaded and kept; a UserFacingError names the first one that cannot go to the customer."""
    if len(ids) > MAX_FILES:
        raise UserFacingError(f"At most {MAX_FILES} files go with one reply; this one has {len(ids)}.")
    return tuple([await _fetch(desk, client, file_id) for file_id in ids])


async def _fetch(desk: Desk, client: AsyncWebClient, file_id: str) -> Attachment:
    try:
        info = (await client.files_info(file=file_id)).get("file") or {}
    except SlackApiError as error:
        raise UserFacingError(f"Slack would not show the desk file {file_id} ({error_code(error) or 'error'}); "
                              "share it again.") from None
    name, mimetype = str(info.get("name") or file_id), str(info.get("mimetype") or "application/octet-stream")
    size, cap = int(info.get("size") or 0), desk.settings.attachment_cap_bytes
    if is_dangerous(name, mimetype):
        raise UserFacingError(f"{name} is a program, script or web page type: it is not sent to customers.")
    if size > cap:
        raise UserFacingError(f"{name} ({human_size(size)}) is over the {human_size(cap)} the desk sends "
                              "(ATTACHMENT_CAP_BYTES).")
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    content = await download(desk, client, url, name)
    if len(content) > cap:
        raise UserFacingError(f"{name} is over the {human_size(cap)} the desk sends (ATTACHMENT_CAP_BYTES).")
    digest = hashlib.sha256(content).hexdigest()
    async with desk.db.transaction() as session:
        await mail_store.store_blob(session, digest, mimetype, content)
    return Attachment(name, mimetype, len(content), digest)


def allowed_host(desk: Desk, url: str) -> bool:
    """Only Slack's file host, or the host SLACK_API_URL points at (a proxy, a stand-in), gets the bot token."""
    parts = urlsplit(url)
    api = urlsplit(desk.settings.slack_api_url)
    if parts.hostname in SLACK_FILE_HOSTS and parts.scheme == "https":
        return True
    return bool(parts.hostname) and (parts.scheme, parts.hostname, parts.port) == (api.scheme, api.hostname, api.port)


async def download(desk: Desk, client: AsyncWebClient, url: str, name: str) -> bytes:
    if not url or not allowed_host(desk, url):
        raise UserFacingError(f"{name} is not on Slack's file host; share it again from Slack.")
    own = client.session is None
    http = client.session if client.session is not None else aiohttp.ClientSession()
    try:
        async with http.get(url, headers={"Authorization": f"Bearer {client.token}"}, timeout=DOWNLOAD_TIMEOUT,
                            allow_redirects=False) as answer:
            if answer.status != 200:
                raise UserFacingError(f"Slack did not hand over {name} (HTTP {answer.status}); share it again.")
            data = bytearray()
            async for chunk in answer.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > desk.settings.attachment_cap_bytes:
                    break  # over the cap: the caller refuses it, no need for the rest
            return bytes(data)
    except aiohttp.ClientError as error:
        log.warning("downloading a shared file failed: %s", type(error).__name__)
        raise UserFacingError(f"{name} could not be fetched from Slack ({type(error).__name__}); try again.") from None
    finally:
        if own:
            await http.close()
