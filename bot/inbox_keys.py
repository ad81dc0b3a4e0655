"""What the inbox files a raw message under, worked out before the commit from any bytes at all: the Message-ID
(or one derived from the bytes) and the content digest that tells a redelivery from a new message."""

from __future__ import annotations

import hashlib
import logging

from channels.email.digest import content_digest
from channels.email.parse import NO_ID_DOMAIN, message_id_of

log = logging.getLogger(__name__)

MAX_KEY_BYTES = 900  # a longer Message-ID is filed under a digest (PostgreSQL's index rows hold ~2,700 bytes)


def store_key(raw: bytes) -> str:
    """The Message-ID the inbox files `raw` under: its own, or one derived from its bytes when it has none, is
    too long to index, or cannot be read at all (such a message is still stored; the worker quarantines it)."""
    try:
        message_id = message_id_of(raw)
    except Exception as error:  # whatever the bytes are, they are committed first: never a reason to refuse
        log.info("a message with no readable header block (%s); filed under a digest of its bytes",
                 type(error).__name__)
        message_id = ""
    if not message_id or len(message_id.encode()) > MAX_KEY_BYTES:
        message_id = f"{hashlib.sha256(raw).hexdigest()}@{NO_ID_DOMAIN}"
    return message_id


def store_keys(raw: bytes) -> tuple[str, str]:
    """(the Message-ID to file `raw` under, its content digest)."""
    return store_key(raw), content_digest(raw)
