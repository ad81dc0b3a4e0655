"""Inbound SMTP: accept mail for the support addresses and hand the raw bytes to `store`.

The server runs on the *current* asyncio loop (``loop.create_server`` with aiosmtpd's ``SMTP``
protocol), not in aiosmtpd's ``Controller`` thread. The desk is one asyncio process and the
injected ``store`` is a coroutine function bound to the main loop's database engine; awaiting it
from the loop that owns the engine needs no cross-thread hand-off, and ``stop()`` can wait for
in-flight stores directly.

Replies (RFC 3463 enhanced codes):

* ``550 5.1.1`` for a recipient that is not a support address (plus-addressing and case are
  ignored when matching);
* ``552 5.3.4`` for ``MAIL FROM ... SIZE=`` over the limit and for DATA over the limit;
* ``250 2.0.0 OK: queued as <id>`` only after ``store`` returned, i.e. the raw message is committed;
* ``451 4.3.0`` when ``store`` raised (the desk could not commit the bytes), so that the sending server
  retries later. Whatever the bytes are (no headers, empty, binary), ``store`` commits them; only a store
  that cannot write answers 4xx.

Lines longer than RFC 5321's 998 octets are accepted and stored exactly (see ``_DeskSMTP``).

The stored bytes are exactly the DATA received (dot-unstuffed, nothing added). A message with
several accepted recipients is stored once. The store runs shielded: a client that vanishes while
it runs does not cancel a half-done commit (``store`` is idempotent by content, and the client,
which never got its 250, will send again).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

StoreFn = Callable[[bytes, str], Awaitable[object]]

DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024
STOP_GRACE_SECONDS = 30.0  # how long stop() lets in-flight stores finish

REPLY_RCPT_OK = "250 2.1.5 OK"
REPLY_QUEUED = "250 2.0.0 OK: queued as {queue_id}"
REPLY_NOT_SUPPORT = "550 5.1.1 <{address}>: Recipient address rejected: not a support address"
REPLY_TEMPFAIL = "451 4.3.0 Temporary failure, please retry"
REPLY_MAIL_TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
REPLY_DATA_TOO_BIG = "552 5.3.4 Error: Too much mail data"

# aiosmtpd's own size replies carry no enhanced status code; these are rewritten on the way out.
_LIBRARY_REPLIES = {
    "552 Error: message size exceeds fixed maximum message size": REPLY_MAIL_TOO_BIG,
    "552 Error: Too much mail data": REPLY_DATA_TOO_BIG,
    # A line may be as long as the size cap (see _DeskSMTP): a longer one means the message is over the cap.
    "500 Line too long (see RFC5321 4.5.3.1.6)": REPLY_DATA_TOO_BIG,
}

# aiosmtpd logs every command line (envelope addresses) at INFO and every DATA line at DEBUG.
_LIBRARY_LOGGER = "mail.log"


@dataclass(frozen=True, kw_only=True)
class SmtpListenerConfig:
    """Where to listen and whom to accept mail for. Port 0 picks a free port."""

    host: str = "127.0.0.1"
    port: int = 2525
    support_addresses: tuple[str, ...]
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    hostname: str | None = None

    def __post_init__(self) -> None:
        if not self.support_addresses:
            raise ValueError("at least one support address is needed")
        if any(_split_address(a) is None for a in self.support_addresses):
            raise ValueError("every support address needs a local part and a domain")
        if self.max_message_size <= 0:
            raise ValueError("max_message_size must be positive")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be within 0..65535")


def _split_address(address: str) -> tuple[str, str] | None:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return local, domain


def _normalize(address: str) -> str:
    return address.strip().casefold()


def is_support_address(address: str, support: frozenset[str]) -> bool:
    """True if `address` is one of `support` (already normalized), ignoring case and a ``+tag``.

    ``Support+anything@Example.com`` matches ``support@example.com``; an exact match of a
    configured plus-address is tried first.
    """
    parts = _split_address(address)
    if parts is None:
        return False
    if _normalize(address) in support:
        return True
    local, domain = parts
    base = local.split("+", 1)[0]
    return bool(base) and _normalize(f"{base}@{domain}") in support


def normalize_support_addresses(addresses: Iterable[str]) -> frozenset[str]:
    return frozenset(_normalize(a) for a in addresses)


def _printable(text: str) -> str:
    """`text` with every control or whitespace character replaced, safe to echo in a reply line."""
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in text)


def _peer_text(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return _printable(str(peer))


def _peer_host(peer: Any) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


def build_origin(peer: Any, queue_id: str, mail_from: str | None) -> str:
    """``smtp:<ip>:<port> queue_id=<id> mail_from=<sender>`` — stored with the message, never logged."""
    sender = (mail_from or "").strip()
    if sender.startswith("<") and sender.endswith(">"):
        sender = sender[1:-1]
    return f"smtp:{_peer_text(peer)} queue_id={queue_id} mail_from=<{_printable(sender)}>"


class _DeskSMTP(SMTP):
    """aiosmtpd's protocol with RFC 3463 enhanced codes on its size replies, and lines as long as the message.

    RFC 5321 caps a line at 998 octets and aiosmtpd answers a longer one with a permanent ``500 Line too
    long``; but real Outlook and HTML mail carries lines of 1,000-700,000 characters, and bouncing it loses the
    customer's mail. A line may be as long as the size cap allows, so the cap (``552``) is the only limit. The
    line limit is also aiosmtpd's read-buffer limit: one session never buffers more than one message's worth.
    """

    def __init__(self, *args: Any, line_length_limit: int, **kwargs: Any) -> None:
        self.line_length_limit = line_length_limit  # read by SMTP.__init__ for its StreamReader
        super().__init__(*args, **kwargs)

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            await super().push(_LIBRARY_REPLIES.get(status, status))
        else:
            await super().push(status)


class _SupportHandler:
    """aiosmtpd hooks: filter recipients, store the message, answer only after the store returned."""

    def __init__(self, support: frozenset[str], store: StoreFn) -> None:
        self._support = support
        self._store = store
        self._pending: set[asyncio.Task[object]] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not is_support_address(address, self._support):
            log.info("rejected a recipient that is not a support address from %s", _peer_host(session.peer))
            return REPLY_NOT_SUPPORT.format(address=_printable(address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return REPLY_RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:  # pragma: no cover - aiosmtpd always sets it before calling the hook
            return REPLY_TEMPFAIL
        queue_id = secrets.token_hex(6).upper()
        origin = build_origin(session.peer, queue_id, envelope.mail_from)
        task = self._start_store(raw, origin, queue_id)
        try:
            await asyncio.shield(task)
        except Exception:  # the failure is logged by _store_finished
            return REPLY_TEMPFAIL
        log.info("stored message %s (%d bytes) from %s", queue_id, len(raw), _peer_host(session.peer))
        return REPLY_QUEUED.format(queue_id=queue_id)

    def _start_store(self, raw: bytes, origin: str, queue_id: str) -> asyncio.Task[object]:
        async def run() -> object:
            return await self._store(raw, origin)

        task = asyncio.get_running_loop().create_task(run(), name=f"smtp-store-{queue_id}")
        self._pending.add(task)
        task.add_done_callback(lambda done: self._store_finished(done, queue_id))
        return task

    def _store_finished(self, task: asyncio.Task[object], queue_id: str) -> None:
        self._pending.discard(task)
        if task.cancelled():
            log.warning("store of message %s was cancelled; the sender will retry", queue_id)
            return
        error = task.exception()
        if error is not None:
            # Only the type: the message of a database error may quote the origin (an address).
            log.error(
                "store of message %s failed (%s.%s); not acknowledged (451)",
                queue_id,
                type(error).__module__,
                type(error).__qualname__,
            )

    async def wait_pending(self, grace: float) -> None:
        """Let in-flight stores finish for up to `grace` seconds, then cancel the rest (never 250'd)."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def _quiet_library_logger() -> None:
    """Keep aiosmtpd's address-bearing INFO/DEBUG lines out of the logs unless configured otherwise."""
    library = logging.getLogger(_LIBRARY_LOGGER)
    if library.level == logging.NOTSET:
        library.setLevel(logging.WARNING)


class SmtpListener:
    """An SMTP server on the running asyncio loop that feeds support mail to `store`."""

    def __init__(self, config: SmtpListenerConfig, store: StoreFn) -> None:
        self._config = config
        self._handler = _SupportHandler(normalize_support_addresses(config.support_addresses), store)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[_DeskSMTP] = weakref.WeakSet()

    @property
    def port(self) -> int:
        """The bound port (the real one when the config asked for port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the SMTP listener is not running")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the SMTP listener is already running")
        _quiet_library_logger()
        loop = asyncio.get_running_loop()
        hostname = self._config.hostname or await asyncio.to_thread(socket.getfqdn)

        def make_session() -> _DeskSMTP:
            session = _DeskSMTP(
                self._handler,
                data_size_limit=self._config.max_message_size,
                line_length_limit=self._config.max_message_size + 2,  # a line may fill the message, CRLF too
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname=hostname,
                loop=loop,
            )
            self._sessions.add(session)
            return session

        self._server = await loop.create_server(make_session, self._config.host, self._config.port)
        log.info("SMTP listener on %s:%d", self._config.host, self.port)

    async def stop(self) -> None:
        """Stop accepting, let in-flight stores finish, close open sessions, release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        await self._handler.wait_pending(STOP_GRACE_SECONDS)
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost() run for the sessions just closed
        log.info("SMTP listener stopped")
