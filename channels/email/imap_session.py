"""The blocking side of the IMAP poller: settings and one imapclient connection.

Everything in `ImapSession` runs on the poller's single worker thread; see imap_poller.py.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imapclient import DELETED, SEEN, IMAPClient

from channels.errors import ChannelError

_BODY = b"BODY[]"
_IDLE_SLICE = 0.5  # seconds between looks at the stop flag while in IDLE
_EOF_SIGNS = 3  # idle_check returning nothing at once this often in a row: the socket is at EOF


class ImapPollError(ChannelError):
    """A sweep failed: the server could not be reached, refused a command or a cursor call failed."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    ssl: bool
    folder: str = "INBOX"
    processed_folder: str | None = None
    poll_seconds: float = 60
    idle_seconds: float = 540
    connect_timeout: float = 30
    max_backoff: float = 300
    initial_backoff: float = 1.0
    batch_size: int = 50
    use_idle: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        timings = (self.poll_seconds, self.idle_seconds, self.connect_timeout, self.initial_backoff, self.max_backoff)
        if min(timings) <= 0:
            raise ValueError("poll, idle, connect and backoff times must be positive")

    @property
    def account_key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    def origin(self, uid: int, uidvalidity: int) -> str:
        return f"imap:{self.user}@{self.host}/{self.folder} uid={uid} uidvalidity={uidvalidity}"


@dataclass(frozen=True)
class ServerInfo:
    idle: bool
    move: bool
    uidplus: bool


class ImapSession:
    """The blocking side: one imapclient connection, only ever used from the worker thread."""

    def __init__(self, config: ImapConfig) -> None:
        self._config = config
        self._client: IMAPClient | None = None

    @property
    def _imap(self) -> IMAPClient:
        if self._client is None:
            raise ImapPollError("not connected")
        return self._client

    def open(self) -> ServerInfo:
        cfg = self._config
        client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.ssl, timeout=cfg.connect_timeout)
        try:
            client.login(cfg.user, cfg.password)
            caps = set(client.capabilities())
            if cfg.processed_folder and not client.folder_exists(cfg.processed_folder):
                client.create_folder(cfg.processed_folder)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        self._client = client
        return ServerInfo(idle=b"IDLE" in caps, move=b"MOVE" in caps, uidplus=b"UIDPLUS" in caps)

    def select(self) -> int:
        """SELECT the folder (read-write) and return its UIDVALIDITY."""
        response = self._imap.select_folder(self._config.folder)
        self.take_new_mail_signal()  # the SELECT's own EXISTS is no news
        return int(response[b"UIDVALIDITY"])

    def take_new_mail_signal(self) -> bool:
        """Whether an untagged EXISTS came since the last call (and forget it).

        imapclient has no public view of the untagged responses that its commands leave
        behind; imaplib keeps them in `untagged_responses`.
        """
        untagged = self._imap._imap.untagged_responses
        return untagged.pop("EXISTS", None) is not None

    def search_after(self, last_uid: int) -> list[int]:
        found = self._imap.search(["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in found if uid > last_uid)

    def fetch(self, uids: Sequence[int]) -> dict[int, bytes]:
        data = self._imap.fetch(list(uids), ["BODY.PEEK[]"])
        return {int(uid): bytes(item[_BODY]) for uid, item in data.items() if _BODY in item}

    def mark_done(self, uids: Sequence[int], info: ServerInfo) -> None:
        imap, target = self._imap, self._config.processed_folder
        imap.add_flags(list(uids), [SEEN], silent=True)
        if target is None:
            return
        if info.move:
            imap.move(list(uids), target)
            return
        imap.copy(list(uids), target)
        imap.add_flags(list(uids), [DELETED], silent=True)
        if info.uidplus:
            imap.uid_expunge(list(uids))
        else:
            imap.expunge()

    def idle_wait(self, seconds: float, stop: threading.Event) -> list[Any]:
        """IDLE until a response arrives, `seconds` pass or `stop` is set; then DONE.

        idle_check swallows EOF and returns nothing at once, every time; a live connection
        with nothing to say makes it wait out its timeout. So a few empty returns in a row
        that came far too early mean the server has gone (works over TLS too).
        """
        imap = self._imap
        imap.idle()
        deadline = time.monotonic() + seconds
        responses: list[Any] = []
        # Mail that arrived as IDLE began is announced together with "+ idling": imaplib files an EXISTS before
        # it with the command's untagged responses, and reads one after it into its buffer, where idle_check's
        # poll of the socket cannot see it (it would wait out its whole timeout). Either way: news now.
        if self.take_new_mail_signal() or self._buffered():
            responses.append((b"EXISTS", b"announced as IDLE began"))
        early_empty = 0
        while not responses and not stop.is_set():
            wait = min(deadline - time.monotonic(), _IDLE_SLICE)
            if wait <= 0:
                break
            started = time.monotonic()
            responses = imap.idle_check(timeout=wait)
            early = not responses and time.monotonic() - started < wait / 2
            early_empty = early_empty + 1 if early else 0
            if early_empty >= _EOF_SIGNS:
                raise ConnectionError("IMAP server closed the connection during IDLE")
        imap.idle_done()
        return responses

    def _buffered(self) -> bool:
        """Whether server output already sits in imaplib's read buffer (checked without blocking)."""
        reader = getattr(self._imap._imap, "file", None)
        if reader is None:
            return False
        sock = self._imap.socket()
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            return bool(reader.peek(1))
        except (OSError, ValueError):
            return False
        finally:
            sock.settimeout(timeout)

    def logout(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    def abort(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()
