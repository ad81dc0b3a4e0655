"""The content digest of a raw message: what tells a redelivery from a new message that reuses a Message-ID.

Two deliveries of one message differ only in the trace fields that servers on the way add (``Received``,
``Return-Path``, ``Delivered-To``, ...): a customer who writes to two of our aliases, or an MTA that retries
after a lost 250, hands us the same message with other trace lines. Anything else that differs (a header the
author's client wrote, one byte of the body) makes it another message, even when its Message-ID is reused.

The digest is SHA-256 over the header fields that are not trace fields, in order, exactly as received (folded
lines included), then the body, byte for byte. Line endings are taken as they come: CRLF and LF copies of one
message are different bytes and the caller may keep both. Works on any bytes: with no header block the digest
is over the whole input.
"""

from __future__ import annotations

import hashlib
import re

# Fields a relay or the final delivery adds on the way; never written by the author's client.
TRACE_FIELDS = frozenset({
    "received", "return-path", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to",
    "x-delivered-to", "x-received", "received-spf", "authentication-results", "x-spam-status", "x-spam-score",
    "x-spam-level", "x-spam-flag", "x-virus-scanned", "arc-seal", "arc-message-signature",
    "arc-authentication-results", "x-ms-exchange-organization-authas", "resent-received",
})
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")


def _header_end(raw: bytes) -> int:
    """Where the body starts (just after the blank line that ends the headers), or -1 with no blank line."""
    pos = 0
    while (end := raw.find(b"\n", pos)) >= 0:
        if raw[pos:end] in (b"", b"\r"):
            return end + 1
        pos = end + 1
    return -1


def content_digest(raw: bytes) -> str:
    """Hex SHA-256 of `raw` without its trace fields (see the module's notes)."""
    end = _header_end(raw)
    if end < 0:
        return hashlib.sha256(raw).hexdigest()
    digest = hashlib.sha256()
    keep = True
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):  # a folded continuation belongs to the field before it
            if keep:
                digest.update(line)
            continue
        field = _FIELD.match(line)
        keep = field is None or field.group(1).decode("ascii").lower() not in TRACE_FIELDS
        if keep:
            digest.update(line)
    digest.update(raw[end:])
    return digest.hexdigest()
