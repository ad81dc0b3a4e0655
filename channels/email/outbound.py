"""Outbound mail: build safe, threaded replies to customers and send them with aiosmtplib.

Header safety: a value with CR, LF, NUL, TAB, another control or line-separator character, or an
RFC 2047 opener ``=?`` raises `HeaderInjectionError` (addresses, display name, ticket id, message
ids, extra headers). ``=?`` because Python's email package decodes encoded words in values it is
handed and writes the result raw (``=?utf-8?q?x=0D=0ABcc:_y?=`` would become a second header). The
subject, from customer mail and possibly folded, is cleaned instead: whitespace runs (CR/LF
included) become one space, other controls a space, ``=?`` becomes ``= ?``. Python 3.11's folder
also mangles long display names and encodes long message ids (breaking threading), so our policy
folds In-Reply-To/References only between ids, and every built message is serialized and parsed
back: it must show exactly the headers set, or `HeaderInjectionError` is raised.

Customer message ids (``in_reply_to``, ``references``) without control characters that are not a
plain ``local@domain`` id are left out of the threading headers (logged): threading degrades, the
reply still goes out. Our own ``message_id`` must be valid.

`SmtpSender` opens a new connection per message (enough for a support desk; pooling can come behind
the same API later), sends exactly the verified bytes and never retries: the outbox worker retries
`TransientDeliveryError` with backoff and gives up on `PermanentDeliveryError`.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from types import MappingProxyType
from typing import TYPE_CHECKING

import aiosmtplib

from channels.errors import ChannelError, HeaderInjectionError, PermanentDeliveryError, TransientDeliveryError

log = logging.getLogger(__name__)

REFERENCES_KEEP_LAST = 20  # plus the first id: the References header holds at most 21 ids
MAX_MESSAGE_ID_LENGTH = 250
MAX_DISPLAY_NAME_LENGTH = 64
ENCODED_WORD_OPENER = "=?"

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_ATEXT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-")
_MESSAGE_ID = re.compile(rf"[.{_ATEXT}]+@(?:[A-Za-z0-9._-]+|\[[A-Za-z0-9.:]+\])")
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*")
_TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FIELD_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_REPLY_PREFIXES = re.compile(r"^(?:(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)
_ADDRESS_LIKE = re.compile(r"\S+@\S+")

# Headers build_reply owns; extra_headers may not set them (Cc/Bcc/Resent-* would add recipients).
_RESERVED_HEADERS = frozenset({"from", "sender", "to", "cc", "bcc", "subject", "date", "message-id"}) | frozenset(
    {"in-reply-to", "references", "mime-version", "auto-submitted", "x-auto-response-suppress", "return-path"}
)
_RESERVED_PREFIXES = ("content-", "resent-")
_MSG_ID_LIST_HEADERS = frozenset({"in-reply-to", "references"})
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


if TYPE_CHECKING:  # generic only in typeshed
    _EmailPolicy = EmailPolicy[EmailMessage]
else:
    _EmailPolicy = EmailPolicy


class ReplyPolicy(_EmailPolicy):
    """``policy.SMTP`` that folds In-Reply-To and References between ids, never inside one."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _MSG_ID_LIST_HEADERS:
            return self._fold_ids(name, value)
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _MSG_ID_LIST_HEADERS:
            return self._fold_ids(name, value).encode("ascii")
        return super().fold_binary(name, value)

    def _fold_ids(self, name: str, value: str) -> str:
        width = self.max_line_length or 998
        lines = [f"{name}:"]
        for token in str(value).split():
            if len(lines[-1]) + 1 + len(token) > width and lines[-1] != f"{name}:":
                lines.append("")
            lines[-1] += f" {token}"
        return self.linesep.join(lines) + self.linesep


# CRLF, 78 columns, and 7-bit-safe bodies (quoted-printable/base64) for any relay, 8BITMIME or not.
MESSAGE_POLICY = ReplyPolicy(linesep="\r\n", cte_type="7bit")


# --- header values ---------------------------------------------------------------------------


def _is_unsafe_char(char: str) -> bool:
    """Any control character (CR, LF, NUL, TAB, ...) and the Unicode line/paragraph separators."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def _check_controls(what: str, value: str) -> str:
    if any(_is_unsafe_char(c) for c in value):
        raise HeaderInjectionError(f"{what} contains CR, LF, NUL or another control character")
    return value


def check_header_value(what: str, value: str) -> str:
    """`value` unchanged, or HeaderInjectionError naming `what` (never quoting the value)."""
    _check_controls(what, value)
    if ENCODED_WORD_OPENER in value:
        raise HeaderInjectionError(f"{what} contains an RFC 2047 encoded-word opener '=?'")
    return value


def clean_subject(subject: str) -> str:
    """The subject on one line and literal: control characters become spaces, whitespace runs
    become one space, lone surrogates become U+FFFD, and ``=?`` becomes ``= ?``."""
    visible = "".join(
        " " if _is_unsafe_char(c) else "\ufffd" if unicodedata.category(c) == "Cs" else c for c in subject
    )
    return " ".join(visible.replace(ENCODED_WORD_OPENER, "= ?").split())


def reply_subject(subject: str, ticket_id: str) -> str:
    """``Re: <subject> [<ticket_id>]``: leading Re:/Fwd:/AW:/SV:/WG: prefixes are dropped first (so
    there is never ``Re: Re:``) and the ``[ticket_id]`` tag is not added again if present."""
    ticket_id = _ticket_id(ticket_id)
    base = _REPLY_PREFIXES.sub("", clean_subject(subject)).strip()
    tag = f"[{ticket_id}]"
    if tag.casefold() not in base.casefold():
        base = f"{base} {tag}" if base else tag
    return f"Re: {base}"


def _ticket_id(ticket_id: str) -> str:
    check_header_value("ticket_id", ticket_id)
    if not _TICKET_ID.fullmatch(ticket_id):
        raise HeaderInjectionError("ticket_id is not a plain ticket id")
    return ticket_id


def _display_name(value: str) -> str:
    name = " ".join(check_header_value("from_name", value).split())
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise HeaderInjectionError(f"from_name is longer than {MAX_DISPLAY_NAME_LENGTH} characters")
    return name


def _address(what: str, value: str, display_name: str = "") -> Address:
    """A single ASCII addr-spec (no display name in it, no list), as an Address."""
    check_header_value(what, value)
    if not value.isascii():
        raise HeaderInjectionError(f"{what}: internationalized addresses are not supported")
    try:
        address = Address(display_name=display_name, addr_spec=value.strip())
    except Exception as error:  # headerregistry raises ValueError, IndexError or header defects
        raise HeaderInjectionError(f"{what} is not a single email address") from error
    if not address.username or not address.domain:
        raise HeaderInjectionError(f"{what} is not a single email address")
    return address


def _bare_message_id(what: str, value: str) -> str:
    _check_controls(what, value)
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value


def is_message_id(value: str) -> bool:
    """True for a plain ``local@domain`` message id (without the angle brackets, without ``=?``)."""
    return (
        len(value) <= MAX_MESSAGE_ID_LENGTH
        and ENCODED_WORD_OPENER not in value
        and _MESSAGE_ID.fullmatch(value) is not None
    )


def _own_message_id(value: str) -> str:
    bare = _bare_message_id("message_id", value)
    if not is_message_id(bare):
        raise HeaderInjectionError("message_id is not a plain local@domain message id")
    return bare


def _foreign_message_ids(what: str, values: Iterable[str]) -> list[str]:
    """Valid ids from customer mail; raises on control characters, drops other malformed ids."""
    kept: list[str] = []
    for value in values:
        bare = _bare_message_id(what, value)
        if is_message_id(bare):
            kept.append(bare)
        else:
            log.warning("left a malformed message id out of %s", what)
    return kept


def _parent_id(in_reply_to: str | None) -> list[str]:
    return _foreign_message_ids("in_reply_to", [in_reply_to] if in_reply_to is not None else [])


def thread_references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    """References then In-Reply-To, de-duplicated (first occurrence kept), bounded: the first id and
    the last REFERENCES_KEEP_LAST ids, as RFC 5322 section 3.6.4 suggests for trimming."""
    return _bounded(_foreign_message_ids("references", references) + _parent_id(in_reply_to))


def _bounded(ids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(ids))
    if len(unique) > REFERENCES_KEEP_LAST + 1:
        unique = [unique[0], *unique[-REFERENCES_KEEP_LAST:]]
    return unique


def _extra_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        check_header_value("extra header name", name)
        if not _FIELD_NAME.fullmatch(name):
            raise HeaderInjectionError("extra header name is not a valid field name")
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            raise HeaderInjectionError(f"extra header {name} would override a header build_reply sets")
        checked.append((name, check_header_value(f"extra header {name}", value)))
    return checked


# --- building -------------------------------------------------------------------------------


def make_message_id(domain: str, token: str | None = None) -> str:
    """A new globally unique Message-ID, ``<random>@domain`` without the angle brackets.

    The local part is 32 random URL-safe characters (no timestamp); `token` replaces it when the
    caller needs a deterministic id (1 to 64 RFC 5322 atext characters).
    """
    check_header_value("domain", domain)
    if not _DOMAIN.fullmatch(domain) or len(domain) > 200:
        raise HeaderInjectionError("domain is not a plain domain name")
    local = token if token is not None else _random_local_part()
    check_header_value("token", local)
    if not local or not set(local) <= _ATEXT_CHARS or len(local) > 64:
        raise HeaderInjectionError("token may only hold RFC 5322 atext characters (1 to 64)")
    return f"{local}@{domain}"


def _random_local_part() -> str:
    return "".join(c for c in secrets.token_urlsafe(24) if c in _ATEXT_CHARS)


def build_reply(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    ticket_id: str,
    body_text: str,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    auto_submitted: bool,
    now: datetime,
    extra_headers: Mapping[str, str] = _NO_HEADERS,
    body_html: str | None = None,
    attachments: Sequence[OutgoingAttachment] = (),
) -> EmailMessage:
    """A customer-facing reply, threaded under the customer's mail. Pure: `now` gives the Date.

    `auto_submitted` marks automatic mail (confirmations): ``Auto-Submitted: auto-replied`` and
    ``X-Auto-Response-Suppress: All`` so that auto-responders do not answer it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    own_id = _own_message_id(message_id)
    parent = _parent_id(in_reply_to)
    thread = _bounded(_foreign_message_ids("references", references) + parent)
    headers: list[tuple[str, str | Address]] = [
        ("From", _address("from_address", from_address, _display_name(from_name))),
        ("To", _address("to", to)),
        ("Subject", reply_subject(subject, ticket_id)),
        ("Date", format_datetime(now)),
        ("Message-ID", f"<{own_id}>"),
    ]
    if parent:
        headers.append(("In-Reply-To", f"<{parent[0]}>"))
    if thread:
        headers.append(("References", " ".join(f"<{i}>" for i in thread)))
    if auto_submitted:
        headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    headers.extend(_extra_headers(extra_headers))
    return _assemble(headers, body_text, body_html, attachments)


@dataclass(frozen=True)
class OutgoingAttachment:
    """A file that goes with a reply as a MIME attachment. `filename` may be anyone's text (an agent's upload):
    it is cleaned (`attachment_filename`) and RFC 2231-encoded by the email package, never written raw."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
MAX_FILENAME = 150


def attachment_filename(name: str) -> str:
    """The name without controls, path parts or quotes, on one line, at most MAX_FILENAME characters."""
    visible = "".join(" " if _is_unsafe_char(c) else c for c in name).replace('"', "'")
    base = re.split(r"[\\/]", " ".join(visible.replace(ENCODED_WORD_OPENER, "= ?").split()))[-1].strip(". ")
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:MAX_FILENAME]
    return base or "attachment"


def _attach(message: EmailMessage, attachment: OutgoingAttachment) -> None:
    content_type = attachment.content_type.strip().lower()
    maintype, subtype = content_type.split("/", 1) if _TYPE.fullmatch(content_type) else ("application", "octet-stream")
    if maintype in ("text", "multipart", "message"):  # bytes as they are: no charset guessing, no re-encoding
        maintype, subtype = "application", "octet-stream"
    message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                           filename=attachment_filename(attachment.filename))


def _assemble(headers: Sequence[tuple[str, str | Address]], body_text: str, body_html: str | None,
              attachments: Sequence[OutgoingAttachment] = ()) -> EmailMessage:
    message = EmailMessage(policy=MESSAGE_POLICY)
    for name, value in headers:
        try:
            message[name] = value
        except Exception as error:  # the structured-header parsers raise IndexError, ValueError, ...
            raise HeaderInjectionError(f"{name} cannot be made into a header") from error
    message["MIME-Version"] = "1.0"
    message.set_content(body_text, subtype="plain", charset="utf-8")
    if body_html is not None:
        message.add_alternative(body_html, subtype="html", charset="utf-8")
    for attachment in attachments:
        _attach(message, attachment)
    verify_headers(message)
    return message


def verify_headers(message: EmailMessage) -> None:
    """The serialized message must parse back to exactly the headers set, with the same values.

    Values are compared without whitespace: Python 3.11 may drop or insert a space where an
    encoded word is split (cosmetic), while what matters (no extra header, no mangled address or
    id) shows in the other characters."""
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(message.as_bytes())
    if _header_digest(parsed) != _header_digest(message):
        raise HeaderInjectionError("the built message does not parse back to the headers that were set")


def _header_digest(message: Message) -> list[tuple[str, str]]:
    return [(name.lower(), "".join(str(value).split())) for name, value in message.items()]


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSenderConfig:
    """The relay. `use_tls` (implicit TLS, port 465) wins over `starttls` (required STARTTLS)."""

    host: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    use_tls: bool = False
    timeout: float = 30.0


class SmtpSender:
    """Delivers one message per call over a fresh connection; maps failures onto our errors."""

    def __init__(self, config: SmtpSenderConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> None:
        sender, recipients, raw = envelope_of(message)
        config = self._config
        try:
            refused, _ = await aiosmtplib.send(
                raw,
                sender=sender,
                recipients=recipients,
                mail_options=[] if raw.isascii() else ["BODY=8BITMIME"],
                hostname=config.host,
                port=config.port,
                username=config.user,
                password=config.password,
                use_tls=config.use_tls,
                start_tls=config.starttls and not config.use_tls,
                timeout=config.timeout,
            )
        except Exception as error:
            # `from None`: aiosmtplib's own exception text may quote recipient addresses.
            raise classify_failure(error, config.password) from None
        if refused:
            log.warning("relay refused %d of %d recipients of a message", len(refused), len(recipients))


def envelope_of(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """Envelope sender (From), recipients (To, Cc, Bcc) and the CRLF bytes to send (without Bcc).

    The bytes come from the message's own policy, so a built reply is sent exactly as verified
    (aiosmtplib's own flattening would refold our In-Reply-To/References with policy.SMTP)."""
    senders = _addr_specs(message, "From")
    recipients = _addr_specs(message, "To", "Cc", "Bcc")
    if len(senders) != 1 or not recipients:
        raise PermanentDeliveryError("the message needs exactly one From address and at least one recipient")
    if "Bcc" in message:
        message = copy.copy(message)
        del message["Bcc"]
    return senders[0], recipients, message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _addr_specs(message: EmailMessage, *names: str) -> list[str]:
    values = [str(value) for name in names for value in message.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def classify_failure(error: BaseException, secret: str | None = None) -> ChannelError:
    """Transient (retry later) or permanent, with a message free of addresses and of `secret`."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        describe = f"all recipients refused ({', '.join(map(str, codes))})"
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentDeliveryError(describe)
        return TransientDeliveryError(describe)
    if isinstance(error, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPNotSupported):
        # Our relay's configuration, not this message: keep it in the outbox until that is fixed.
        return TransientDeliveryError(_describe(error, secret))
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 500 <= error.code < 600:
            return PermanentDeliveryError(_describe(error, secret))
        return TransientDeliveryError(_describe(error, secret))
    if isinstance(error, ValueError):  # aiosmtplib: an address it cannot send safely
        return PermanentDeliveryError(f"message cannot be sent as built ({type(error).__name__})")
    # Connection refused/reset, timeouts, disconnects, TLS failures, anything else.
    return TransientDeliveryError(_describe(error, secret))


def _describe(error: BaseException, secret: str | None) -> str:
    text = str(getattr(error, "message", None) or error)
    text = _ADDRESS_LIKE.sub("<address>", " ".join(text.split()))
    if secret:
        text = text.replace(secret, "***")
    code = getattr(error, "code", None)
    prefix = type(error).__name__ + (f" {code}" if isinstance(code, int) else "")
    return f"{prefix}: {text[:200]}"
