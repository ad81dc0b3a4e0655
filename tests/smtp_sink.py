"""A real SMTP server that records what it receives, for tests of anything that sends mail.

It runs aiosmtpd on its own thread and loop (like aiosmtpd's Controller, but bound to a free port
chosen by the OS), so it serves sync clients (smtplib) and async clients (aiosmtplib) alike:

    sink = SmtpSink()
    sink.start()
    ...send to 127.0.0.1:sink.port...
    sink.messages[0].raw
    sink.fail_next("451 4.3.0 Try again later", times=2)            # at DATA
    sink.fail_next("550 5.1.1 No such user", stage="rcpt")           # at RCPT
    sink.stop()

It is also a context manager (``with SmtpSink() as sink:``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any, Literal, NamedTuple

from aiosmtpd.smtp import SMTP, Envelope, Session

Stage = Literal["mail", "rcpt", "data"]


class SinkMessage(NamedTuple):
    envelope_from: str
    rcpt_tos: list[str]
    raw: bytes


class _SinkHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[SinkMessage] = []
        self.failures: dict[str, deque[str]] = {"mail": deque(), "rcpt": deque(), "data": deque()}

    def take_failure(self, stage: Stage) -> str | None:
        with self.lock:
            queue = self.failures[stage]
            return queue.popleft() if queue else None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = self.take_failure("mail")
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = self.take_failure("rcpt")
        if failure is not None:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.take_failure("data")
        if failure is not None:
            return failure
        message = SinkMessage(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b"")
        with self.lock:
            self.messages.append(message)
        return "250 OK: delivered to the sink"


class SmtpSink:
    """A recording SMTP server on 127.0.0.1 and a free port, on a thread of its own."""

    def __init__(self, host: str = "127.0.0.1", **smtp_kwargs: Any) -> None:
        self.host = host
        self._smtp_kwargs: dict[str, Any] = {"hostname": "sink.test", "enable_SMTPUTF8": True, "decode_data": False}
        self._smtp_kwargs.update(smtp_kwargs)
        self._handler = _SinkHandler()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sink is not running")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def messages(self) -> list[SinkMessage]:
        """What was delivered so far: (envelope_from, rcpt_tos, raw bytes), oldest first."""
        with self._handler.lock:
            return list(self._handler.messages)

    def fail_next(self, reply: str, *, times: int = 1, stage: Stage = "data") -> None:
        """Answer `reply` (e.g. ``"451 4.3.0 Try later"``) the next `times` times `stage` is reached."""
        with self._handler.lock:
            self._handler.failures[stage].extend([reply] * times)

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.messages.clear()
            for queue in self._handler.failures.values():
                queue.clear()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the sink is already running")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="smtp-sink", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), loop)
        self._server = future.result(timeout=10)

    async def _serve(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: SMTP(self._handler, loop=loop, **self._smtp_kwargs), self.host, 0)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._server = None

    async def _shutdown(self) -> None:
        server = self._server
        if server is not None:
            server.close()
            await server.wait_closed()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
