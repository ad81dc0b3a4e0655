"""The values the email parser produces: plain frozen data, no behaviour.

They live apart from ``parse.py`` so the helper modules (noise, bounce, ...) can
name them without importing the parser; ``parse.py`` re-exports all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class NoiseKind(StrEnum):
    """Why a message is not a human writing to us (``NONE`` when it is)."""

    NONE = "none"
    AUTO_REPLY = "auto_reply"
    OUT_OF_OFFICE = "out_of_office"
    BOUNCE = "bounce"
    BULK = "bulk"
    LIST = "list"
    DAEMON = "daemon"
    OWN_ADDRESS = "own_address"
    OWN_MESSAGE = "own_message"


class SenderSource(StrEnum):
    """Which header ``ParsedEmail.from_address`` was read from (``NONE``: no usable sender anywhere)."""

    FROM = "from"
    LATER_FROM = "later_from"  # a second From header, the first being unusable
    REPLY_TO = "reply_to"  # no usable From at all
    SENDER = "sender"  # no usable From nor Reply-To
    NONE = "none"


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None
    payload: bytes | None


@dataclass(frozen=True)
class BounceInfo:
    original_message_id: str | None
    failed_recipients: tuple[str, ...]
    status: str | None
    action: str | None
    permanent: bool


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    has_message_id: bool
    from_address: str | None
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    new_text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...]
    # A read-only mapping; excluded from hashing because mappings are unhashable.
    headers: Mapping[str, str] = field(hash=False)
    noise: NoiseKind
    bounce: BounceInfo | None
    defects: tuple[str, ...]
    sender_source: SenderSource = SenderSource.FROM  # parse_email always sets it
