"""Recognise delivery failures and read what they say about the failed mail.

Two shapes exist. RFC 3464 delivery status notifications (multipart/report;
report-type=delivery-status) carry machine-readable per-recipient fields, which
the stdlib parser already splits into header blocks. Older MTAs (qmail, some
Exim and Exchange setups) send plain-text "classic" bounces from
MAILER-DAEMON/postmaster: those are recognised by sender plus subject (or
X-Failed-Recipients), and the failed mail's Message-ID is dug out of the
quoted headers in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from channels.email.mimeheaders import message_id, raw_first_headers
from channels.email.mimeparts import part_text
from channels.email.parsed import BounceInfo

_SCAN_LIMIT = 256 * 1024
_DAEMON_LOCAL = re.compile(r"(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|mdaemon)", re.I)
_DAEMON_NAME = re.compile(r"mail delivery (?:sub)?system|mailer[-_ ]daemon|postmaster", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery status notification|delivery (?:has )?fail|could not send"
    r"|mail delivery fail|failure notice|delivery failure|could not be delivered|non[- ]?delivery"
    r"|delivery notification|delayed mail|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen"
    r"|non remis|chec de (?:la )?remise|impossible de remettre|no se puede entregar|no entregado"
    r"|non recapitabile|mancato recapito|onbestelbaar|niet bezorgd|não entregue|não foi possível entregar"
    r"|olevererbar|kunde inte levereras|ikke leveret|kan ikke leveres|niedostarczon|nie można dostarczyć",
    re.I,
)
_DELAY_SUBJECT = re.compile(r"\bdela|warning|verzögert|retard|retras|ritard|vertraag|atras|försen|opóźn", re.I)
_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?!\d|\.\d)")
_QUOTED_ID = re.compile(r"^[ \t>]*message-id:[ \t]*(\S[^\n]{0,500})$", re.I | re.M)
_TEXT_RECIPIENT = re.compile(
    r"^[ \t]*(?:final|original)-recipient:[ \t]*(?:[\w-]+;)?[ \t]*<?([^\s<>@]+@[^\s<>;]+?)>?[ \t]*$"
    r"|^<([^\s<>@]+@[^\s<>]+)>:"
    r"|wasn't delivered to[ \t]+<?([^\s<>@]+@[^\s<>]+)",
    re.I | re.M,
)
_UNSUCCESSFUL = frozenset({"failed", "delayed"})


@dataclass(frozen=True)
class BounceInput:
    """What bounce detection needs to know about a message."""

    report_type: str | None
    delivery_status: list[Message]
    originals: list[Message]
    headers: Mapping[str, str]  # decoded, lowercased names
    from_address: str | None
    from_name: str
    subject: str
    text: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    message_id: str


def is_daemon_sender(from_address: str | None, from_name: str, raw_from: str) -> bool:
    """True for MAILER-DAEMON / postmaster style senders."""
    if _DAEMON_NAME.search(from_name[:200]):
        return True
    if from_address is not None:
        return _DAEMON_LOCAL.fullmatch(from_address.split("@", 1)[0][:64]) is not None
    return _DAEMON_LOCAL.search(raw_from[:200]) is not None


def _recipient(value: str) -> str | None:
    address = value.split(";", 1)[-1].strip().strip("<>").strip().lower()
    return address if "@" in address else None


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part_text(part).text.replace("\r\n", "\n")
    parser = HeaderParser(policy=compat32)
    return [parser.parsestr(chunk) for chunk in text.split("\n\n") if chunk.strip()]


def _dsn_fields(parts: list[Message]) -> list[dict[str, str]]:
    """Per-recipient fields (lowercased names) of every delivery-status part."""
    out = []
    for part in parts:
        for block in _blocks(part):
            fields = {key.lower(): " ".join(str(value).split()) for key, value in block.items()}
            if "final-recipient" in fields or "original-recipient" in fields or "action" in fields:
                out.append(fields)
    return out


def _original_id(originals: list[Message]) -> str | None:
    for part in originals:
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            headers = payload[0]
        else:
            headers = HeaderParser(policy=compat32).parsestr(part_text(part).text.lstrip())
        found = message_id(raw_first_headers(headers)[0].get("message-id"))
        if found:
            return found
    return None


def _id_in_text(text: str, own_id: str) -> str | None:
    for match in _QUOTED_ID.finditer(text[:_SCAN_LIMIT]):
        found = message_id(match.group(1))
        if found and found != own_id:
            return found
    return None


def _text_recipients(text: str) -> list[str]:
    found = []
    for match in _TEXT_RECIPIENT.finditer(text[:_SCAN_LIMIT]):
        address = next(group for group in match.groups() if group)
        found.append(address.lower().rstrip("."))
    return found


def _header_recipients(headers: Mapping[str, str]) -> list[str]:
    value = headers.get("x-failed-recipients", "")
    return [item.strip().strip("<>").lower() for item in value.split(",") if "@" in item]


def _fallback_id(info: BounceInput) -> str | None:
    if info.in_reply_to:
        return info.in_reply_to[0]
    return info.references[-1] if info.references else None


def is_classic(info: BounceInput, raw_from: str) -> bool:
    """A non-DSN bounce: daemon (or null) sender with a bounce subject, or X-Failed-Recipients."""
    if "x-failed-recipients" in info.headers:
        return True
    null_sender = info.headers.get("return-path", "").strip() == "<>"
    automated = null_sender or is_daemon_sender(info.from_address, info.from_name, raw_from)
    return automated and _BOUNCE_SUBJECT.search(info.subject[:1000]) is not None


def _from_dsn(info: BounceInput, fields: list[dict[str, str]]) -> BounceInfo:
    main = next((f for f in fields if f.get("action", "").lower() == "failed"), fields[0] if fields else {})
    action = main.get("action", "").lower().split(" ", 1)[0] or None
    status_match = _STATUS.search(main.get("status", "")) or _STATUS.search(info.text[:_SCAN_LIMIT])
    status = status_match.group(1) if status_match else None
    unknown = action is None and status is None
    recipients = [
        _recipient(f.get("final-recipient") or f.get("original-recipient") or "")
        for f in fields
        if f.get("action", "failed").lower().split(" ", 1)[0] in _UNSUCCESSFUL
    ]
    all_recipients = [r for r in recipients if r] + _header_recipients(info.headers)
    original = _original_id(info.originals) or _id_in_text(info.text, info.message_id) or _fallback_id(info)
    return BounceInfo(
        original_message_id=original,
        failed_recipients=tuple(dict.fromkeys(all_recipients)),
        status=status,
        action=action,
        permanent=(status or "").startswith("5") or action == "failed" or (unknown and not _delayed(info.subject)),
    )


def _delayed(subject: str) -> bool:
    return _DELAY_SUBJECT.search(subject[:1000]) is not None


def _from_text(info: BounceInput) -> BounceInfo:
    status_match = _STATUS.search(info.text[:_SCAN_LIMIT])
    status = status_match.group(1) if status_match else None
    delayed = _delayed(info.subject) or (status or "").startswith("4")
    recipients = _header_recipients(info.headers) + _text_recipients(info.text)
    original = _original_id(info.originals) or _id_in_text(info.text, info.message_id) or _fallback_id(info)
    return BounceInfo(
        original_message_id=original,
        failed_recipients=tuple(dict.fromkeys(recipients)),
        status=status,
        action="delayed" if delayed else "failed",
        permanent=not delayed,
    )


def bounce_info(info: BounceInput, raw_from: str) -> BounceInfo | None:
    """What the message says about a failed delivery, or None when it is not a bounce."""
    if info.report_type == "delivery-status":
        return _from_dsn(info, _dsn_fields(info.delivery_status))
    if is_classic(info, raw_from):
        return _from_text(info)
    return None
