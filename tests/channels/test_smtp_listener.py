"""The inbound SMTP listener, driven by smtplib (in a thread) against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import socket
from collections.abc import AsyncIterator, Callable
from typing import NamedTuple, TypeVar

import pytest

from channels.email.smtp_listener import (
    SmtpListener,
    SmtpListenerConfig,
    build_origin,
    is_support_address,
    normalize_support_addresses,
)

SUPPORT = "support@wedsync.example"
CUSTOMER = "jo@customer.example"
LIMIT = 4096
T = TypeVar("T")

RAW = (
    b"From: Jo <jo@customer.example>\r\n"
    b"To: support@wedsync.example\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"Message-ID: <abc123@customer.example>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hallo, die Formulare sind kaputt \xe2\x80\x94 bitte helfen.\r\n"
    b".a line that starts with a dot\r\n"
    b"   trailing spaces kept   \r\n"
)


class RecordingStore:
    """The injected `store`: records (raw, origin); fails while `failures` > 0; may wait for `gate`."""

    def __init__(self) -> None:
        self.stored: list[tuple[bytes, str]] = []
        self.calls = 0
        self.failures = 0
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, raw: bytes, origin: str) -> object:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError(f"database is down (origin {origin})")
        self.stored.append((raw, origin))
        return None


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
async def listener(store: RecordingStore) -> AsyncIterator[SmtpListener]:
    config = SmtpListenerConfig(
        host="127.0.0.1",
        port=0,
        support_addresses=(SUPPORT, "billing@wedsync.example"),
        max_message_size=LIMIT,
        hostname="mx.wedsync.test",
    )
    server = SmtpListener(config, store)
    await server.start()
    yield server
    await server.stop()


def client(port: int) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=10)
    smtp.ehlo()
    return smtp


async def in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


Reply = tuple[int, bytes]


class Replies(NamedTuple):
    mail: Reply
    rcpt: list[Reply]
    data: Reply


def deliver(port: int, rcpts: list[str], raw: bytes = RAW, sender: str = CUSTOMER) -> Replies:
    """One transaction; returns every reply as (code, text)."""
    with client(port) as smtp:
        mail = smtp.mail(sender, options=["BODY=8BITMIME"])
        rcpt = [smtp.rcpt(r) for r in rcpts]
        return Replies(mail, rcpt, smtp.data(raw))


async def test_support_recipient_gets_250_after_the_exact_bytes_are_stored(
    listener: SmtpListener, store: RecordingStore
) -> None:
    replies = await in_thread(lambda: deliver(listener.port, [SUPPORT]))
    assert replies.mail[0] == 250
    assert replies.rcpt == [(250, b"2.1.5 OK")]
    code, text = replies.data
    assert code == 250
    assert text.startswith(b"2.0.0 OK: queued as ")
    assert len(store.stored) == 1
    raw, origin = store.stored[0]
    assert raw == RAW
    queue_id = text.decode().rsplit(" ", 1)[1]
    assert origin.startswith("smtp:127.0.0.1:")
    assert origin.endswith(f"queue_id={queue_id} mail_from=<{CUSTOMER}>")


async def test_ehlo_announces_size_8bitmime_and_smtputf8(listener: SmtpListener) -> None:
    def features() -> dict[str, str]:
        with client(listener.port) as smtp:
            return dict(smtp.esmtp_features)

    got = await in_thread(features)
    assert got["size"] == str(LIMIT)
    assert "8bitmime" in got
    assert "smtputf8" in got


@pytest.mark.parametrize(
    "rcpt",
    [
        "SUPPORT@WedSync.Example",
        "support+billing@wedsync.example",
        "Support+X.y@WEDSYNC.example",
        "billing@wedsync.example",
    ],
)
async def test_case_and_plus_addressing_are_accepted(listener: SmtpListener, store: RecordingStore, rcpt: str) -> None:
    replies = await in_thread(lambda: deliver(listener.port, [rcpt]))
    assert replies.rcpt == [(250, b"2.1.5 OK")]
    assert replies.data[0] == 250
    assert len(store.stored) == 1


async def test_stranger_is_refused_550_511_and_the_message_is_stored_once(
    listener: SmtpListener, store: RecordingStore
) -> None:
    rcpts = ["someone@elsewhere.example", SUPPORT, "SUPPORT+vip@wedsync.example", "support@wedsync.other"]
    replies = await in_thread(lambda: deliver(listener.port, rcpts))
    assert replies.rcpt == [
        (550, b"5.1.1 <someone@elsewhere.example>: Recipient address rejected: not a support address"),
        (250, b"2.1.5 OK"),
        (250, b"2.1.5 OK"),
        (550, b"5.1.1 <support@wedsync.other>: Recipient address rejected: not a support address"),
    ]
    assert replies.data[0] == 250
    assert store.calls == 1
    assert [raw for raw, _ in store.stored] == [RAW]


async def test_only_strangers_means_no_data_and_nothing_stored(listener: SmtpListener, store: RecordingStore) -> None:
    def attempt() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with client(listener.port) as smtp:
            smtp.mail(CUSTOMER)
            return smtp.rcpt("support@elsewhere.example"), smtp.docmd("DATA")

    rcpt, data = await in_thread(attempt)
    assert rcpt[0] == 550
    assert rcpt[1].startswith(b"5.1.1 ")
    assert data[0] == 503
    assert store.calls == 0


async def test_oversized_data_gets_552(listener: SmtpListener, store: RecordingStore) -> None:
    big = RAW + b"x" * 70 + b"\r\n"
    big = big * (LIMIT // len(big) + 1)
    assert len(big) > LIMIT

    def attempt() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with client(listener.port) as smtp:
            smtp.mail(CUSTOMER)
            smtp.rcpt(SUPPORT)
            too_big = smtp.data(big)
            # The session stays usable: a message within the limit goes through afterwards.
            smtp.mail(CUSTOMER)
            smtp.rcpt(SUPPORT)
            return too_big, smtp.data(RAW)

    too_big, fine = await in_thread(attempt)
    assert too_big == (552, b"5.3.4 Error: Too much mail data")
    assert fine[0] == 250
    assert [raw for raw, _ in store.stored] == [RAW]


async def test_mail_size_over_the_limit_gets_552_534(listener: SmtpListener, store: RecordingStore) -> None:
    def attempt() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with client(listener.port) as smtp:
            over = smtp.mail(CUSTOMER, options=[f"SIZE={LIMIT + 1}"])
            return over, smtp.mail(CUSTOMER, options=[f"SIZE={LIMIT}"])

    over, within = await in_thread(attempt)
    assert over == (552, b"5.3.4 Message size exceeds fixed maximum message size")
    assert within[0] == 250
    assert store.calls == 0


async def test_store_failure_gives_451_and_the_retry_succeeds(
    listener: SmtpListener, store: RecordingStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.failures = 1
    first = await in_thread(lambda: deliver(listener.port, [SUPPORT]))
    assert first.data == (451, b"4.3.0 Temporary failure, please retry")
    assert store.stored == []
    assert "RuntimeError" in caplog.text
    assert CUSTOMER not in caplog.text  # neither the address nor the exception text is logged

    again = await in_thread(lambda: deliver(listener.port, [SUPPORT]))
    assert again.data[0] == 250
    assert [raw for raw, _ in store.stored] == [RAW]


async def test_250_is_sent_only_after_store_returned(listener: SmtpListener, store: RecordingStore) -> None:
    store.gate = asyncio.Event()
    delivery = asyncio.create_task(in_thread(lambda: deliver(listener.port, [SUPPORT])))
    await asyncio.wait_for(store.entered.wait(), timeout=10)
    await asyncio.sleep(0.2)
    assert not delivery.done()
    assert store.stored == []
    store.gate.set()
    replies = await asyncio.wait_for(delivery, timeout=10)
    assert replies.data[0] == 250
    assert len(store.stored) == 1


def raw_session(port: int, lines: list[bytes], then: bytes) -> list[bytes]:
    """Speak SMTP over a bare socket: send `lines` one by one (reading each reply), then `then`, then close."""
    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        replies.append(reader.readline())
        for line in lines:
            sock.sendall(line)
            replies.append(reader.readline())
        sock.sendall(then)
    return replies


ENVELOPE = [
    b"HELO client.test\r\n",
    f"MAIL FROM:<{CUSTOMER}>\r\n".encode(),
    f"RCPT TO:<{SUPPORT}>\r\n".encode(),
    b"DATA\r\n",
]


async def test_listener_survives_a_client_that_disconnects_mid_data(
    listener: SmtpListener, store: RecordingStore
) -> None:
    replies = await in_thread(lambda: raw_session(listener.port, ENVELOPE, RAW[:50]))
    assert replies[-1].startswith(b"354")
    await asyncio.sleep(0.1)
    assert store.calls == 0

    after = await in_thread(lambda: deliver(listener.port, [SUPPORT]))
    assert after.data[0] == 250
    assert [raw for raw, _ in store.stored] == [RAW]


async def test_a_client_that_leaves_during_the_store_does_not_cancel_it(
    listener: SmtpListener, store: RecordingStore
) -> None:
    store.gate = asyncio.Event()
    dot_stuffed = RAW.replace(b"\r\n.", b"\r\n..")
    await in_thread(lambda: raw_session(listener.port, ENVELOPE, dot_stuffed + b".\r\n"))
    await asyncio.wait_for(store.entered.wait(), timeout=10)
    await asyncio.sleep(0.1)  # the server has seen the disconnect by now
    store.gate.set()
    for _ in range(100):
        if store.stored:
            break
        await asyncio.sleep(0.01)
    assert [raw for raw, _ in store.stored] == [RAW]


async def test_smtputf8_sender_and_null_sender_are_accepted(listener: SmtpListener, store: RecordingStore) -> None:
    def bounce_and_utf8() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with client(listener.port) as smtp:
            smtp.mail("", options=[])
            smtp.rcpt(SUPPORT)
            bounce = smtp.data(RAW)
            smtp.mail("jörg@müller.example", options=["SMTPUTF8", "BODY=8BITMIME"])
            smtp.rcpt(SUPPORT)
            return bounce, smtp.data(RAW)

    bounce, utf8 = await in_thread(bounce_and_utf8)
    assert bounce[0] == 250
    assert utf8[0] == 250
    assert store.stored[0][1].endswith("mail_from=<>")
    assert store.stored[1][1].endswith("mail_from=<jörg@müller.example>")


async def test_stop_releases_the_port(store: RecordingStore) -> None:
    config = SmtpListenerConfig(port=0, support_addresses=(SUPPORT,), hostname="mx.test")
    first = SmtpListener(config, store)
    await first.start()
    port = first.port
    await in_thread(lambda: deliver(port, [SUPPORT]))
    idle = await in_thread(lambda: client(port))  # an open, idle session is closed by stop()
    await first.stop()
    await first.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = first.port

    with pytest.raises(ConnectionRefusedError):
        await in_thread(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        await in_thread(idle.noop)

    again = SmtpListener(SmtpListenerConfig(port=port, support_addresses=(SUPPORT,), hostname="mx.test"), store)
    await again.start()
    try:
        assert again.port == port
        assert (await in_thread(lambda: deliver(port, [SUPPORT]))).data[0] == 250
    finally:
        await again.stop()


async def test_stop_waits_for_an_in_flight_store(listener: SmtpListener, store: RecordingStore) -> None:
    store.gate = asyncio.Event()
    delivery = asyncio.create_task(in_thread(lambda: deliver(listener.port, [SUPPORT])))
    await asyncio.wait_for(store.entered.wait(), timeout=10)
    stopping = asyncio.create_task(listener.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()
    store.gate.set()
    await asyncio.wait_for(stopping, timeout=10)
    assert [raw for raw, _ in store.stored] == [RAW]
    with contextlib.suppress(smtplib.SMTPException, OSError):
        await delivery  # the reply may or may not have made it out before the session closed


async def test_no_address_reaches_the_logs_even_at_debug(
    listener: SmtpListener, store: RecordingStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await in_thread(lambda: deliver(listener.port, [SUPPORT, "stranger@elsewhere.example"]))
    store.failures = 1
    await in_thread(lambda: deliver(listener.port, [SUPPORT]))
    assert caplog.records  # our own lines are there
    for needle in (CUSTOMER, SUPPORT, "stranger@elsewhere.example", "customer.example"):
        assert needle not in caplog.text


async def test_start_twice_is_an_error(listener: SmtpListener) -> None:
    with pytest.raises(RuntimeError):
        await listener.start()


@pytest.mark.parametrize("addresses", [(), ("no-at-sign",), ("@domain.example",)])
def test_config_needs_real_support_addresses(addresses: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        SmtpListenerConfig(support_addresses=addresses)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("support@wedsync.example", True),
        ("SUPPORT@WEDSYNC.EXAMPLE", True),
        ("support+a+b@wedsync.example", True),
        ("team+x@wedsync.example", True),  # a configured plus-address matches exactly
        ("team+y@wedsync.example", False),
        ("team@wedsync.example", False),
        ("+support@wedsync.example", False),
        ("supportx@wedsync.example", False),
        ("support@wedsync.example.evil", False),
        ("support", False),
        ("", False),
    ],
)
def test_is_support_address(address: str, expected: bool) -> None:
    support = normalize_support_addresses(["Support@WedSync.example", "team+x@wedsync.example"])
    assert is_support_address(address, support) is expected


def test_origin_never_carries_control_characters() -> None:
    origin = build_origin(("10.0.0.1", 25), "Q1", "<a\r\nb c@x>")
    assert origin == "smtp:10.0.0.1:25 queue_id=Q1 mail_from=<a??b?c@x>"
