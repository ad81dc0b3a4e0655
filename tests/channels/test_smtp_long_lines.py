"""Lines longer than RFC 5321's 998 octets (real Outlook and HTML mail has 1,000-700,000-character lines) are
accepted over real SMTP and stored byte for byte; the message size cap still answers 552 (issue 13 point 3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from channels.email.smtp_listener import SmtpListener, SmtpListenerConfig
from tests.channels.test_smtp_listener import CUSTOMER, SUPPORT, RecordingStore, deliver

CAP = 2 * 1024 * 1024


@pytest.fixture
async def roomy(store: RecordingStore) -> AsyncIterator[SmtpListener]:
    config = SmtpListenerConfig(host="127.0.0.1", port=0, support_addresses=(SUPPORT,), max_message_size=CAP,
                                hostname="mx.wedsync.test")
    server = SmtpListener(config, store)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


def html_mail(line_length: int) -> bytes:
    line = ("<td>" + "Kate &amp; Tom, 14 June, Lake Como " * (line_length // 35 + 1))[:line_length]
    assert len(line) == line_length
    return (f"From: <{CUSTOMER}>\r\nTo: {SUPPORT}\r\nSubject: Venue table\r\nMessage-ID: <long@example.com>\r\n"
            f"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><table><tr>\r\n{line}\r\n</tr></table>\r\n"
            f".{line[:500]}\r\n</body></html>\r\n").encode()


@pytest.mark.parametrize("length", [999, 1000, 70_000, 700_000])
async def test_a_line_longer_than_998_octets_is_accepted_and_stored_exactly(
    roomy: SmtpListener, store: RecordingStore, length: int
) -> None:
    raw = html_mail(length)
    replies = await asyncio.to_thread(deliver, roomy.port, [SUPPORT], raw)
    assert replies.data[0] == 250, replies.data
    assert [stored for stored, _origin in store.stored] == [raw]
    assert max(len(line) for line in raw.split(b"\r\n")) == length


async def test_a_message_over_the_size_cap_still_gets_552_however_its_lines_are_cut(
    roomy: SmtpListener, store: RecordingStore
) -> None:
    replies = await asyncio.to_thread(deliver, roomy.port, [SUPPORT], html_mail(CAP + 10))
    assert replies.data[0] == 552 and store.stored == []
