"""Signed links for customers (rating, comment, "did this solve it?") and for the dashboard's sign-in (one
person's, ten minutes, once: bot/dashboard_access.py): unguessable, expiring, tamper-proof.

A token is two URL-safe base64 parts (no padding) joined by a dot:

    BODY.MAC
    BODY = b64url("1|<purpose>|<ticket id>|<value>|<expiry, unix seconds>|<b64url(12 random bytes)>")
    MAC  = b64url(HMAC-SHA256(key, BODY as ASCII)),  key = HMAC-SHA256(desk.secret(), KEY_LABEL)

The MAC covers the encoded text of BODY, so changing any character of either part (even a base64 character
whose last bits would decode to the same bytes) makes the token invalid; it is compared with
`hmac.compare_digest`. The random nonce makes two links for the same ticket and value different, so knowing a
ticket id does not let anyone guess a link. The purpose is signed, so a rating link does not work as a
comment or deflection link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.desk import Desk
from db.sla import app_secret

TOKEN_LIFETIME = timedelta(days=30)
KEY_LABEL = b"wedsync-support customer links v1"
NONCE_BYTES = 12
MAX_TOKEN_LENGTH = 512
_VERSION = "1"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class Purpose(StrEnum):
    RATING = "csat"
    COMMENT = "csat-comment"
    DEFLECT = "deflect"
    DASHBOARD = "dashboard"  # ticket id field "dashboard", value the Slack user id it signs in


@dataclass(frozen=True)
class Claim:
    """What a valid token says."""

    purpose: Purpose
    ticket_id: str
    value: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    key = hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def sign(secret: bytes, purpose: Purpose, ticket_id: str, value: str, expires: datetime,
         nonce: bytes | None = None) -> str:
    fields = (_VERSION, purpose.value, ticket_id, value, str(int(expires.timestamp())),
              _b64(nonce if nonce is not None else secrets.token_bytes(NONCE_BYTES)))
    if any("|" in part for part in fields):
        raise ValueError("a token field cannot contain '|'")
    body = _b64("|".join(fields).encode("utf-8"))
    return f"{body}.{_mac(secret, body)}"


def verify(secret: bytes, token: str, purpose: Purpose, now: datetime) -> Claim | None:
    """The claim of a token signed with `secret` for `purpose` and not yet expired; None for anything else."""
    if len(token) > MAX_TOKEN_LENGTH or not _SHAPE.match(token):
        return None
    body, mac = token.split(".")
    if not hmac.compare_digest(_mac(secret, body), mac):
        return None
    try:
        fields = _unb64(body).decode("utf-8").split("|")
    except (binascii.Error, ValueError):
        return None
    if len(fields) != 6 or fields[0] != _VERSION or fields[1] != purpose.value or not fields[4].isdigit():
        return None
    expires = datetime.fromtimestamp(int(fields[4]), UTC)
    if now >= expires:
        return None
    return Claim(purpose, fields[2], fields[3], expires)


async def signing_secret(desk: Desk, session: AsyncSession | None = None) -> bytes:
    """`desk.secret()`; inside a caller's transaction, read through its session instead: `desk.secret()` opens a
    transaction of its own, which on SQLite would wait for the caller's write lock (and time out). Once read, the
    desk keeps it (it never changes), and no statement is needed."""
    if session is not None and not desk.secret_known:
        desk.remember_secret(await app_secret(session))
    return await desk.secret()


async def make_token(desk: Desk, purpose: Purpose, ticket_id: str, value: str,
                     lifetime: timedelta = TOKEN_LIFETIME, session: AsyncSession | None = None) -> str:
    return sign(await signing_secret(desk, session), purpose, ticket_id, value, desk.clock.now() + lifetime)


async def read_token(desk: Desk, token: str, purpose: Purpose) -> Claim | None:
    return verify(await desk.secret(), token, purpose, desk.clock.now())


def customer_url(desk: Desk, path: str, token: str) -> str:
    """`{base_url}/{path}/{token}`: where a customer's mail client takes them."""
    return f"{desk.settings.base_url.rstrip('/')}/{path.strip('/')}/{token}"
