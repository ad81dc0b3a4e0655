"""The IMAP poller against a real Dovecot on loopback (see tests/imap_server.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from imapclient import SEEN

from channels.email.imap_poller import ImapConfig, ImapPoller, ImapPollError, PollerStats, backoff_delay
from tests.imap_server import DovecotServer, dovecot_fixture, dovecot_minimal_fixture, make_message  # noqa: F401 - fixtures

WAIT = 10.0  # generous ceiling for "soon"; nothing here asserts how fast


class FakeInbox:
    """The desk's inbox table in memory: idempotent by Message-ID, fails on chosen IDs."""

    def __init__(self) -> None:
        self.stored: list[bytes] = []
        self.origins: list[str] = []
        self.calls: Counter[str] = Counter()
        self.fail_ids: set[str] = set()
        self.during_store: Callable[[bytes], Awaitable[None]] | None = None

    @property
    def ids(self) -> set[str]:
        return {message_id(raw) for raw in self.stored}

    async def store(self, raw: bytes, origin: str) -> object:
        mid = message_id(raw)
        self.calls[mid] += 1
        if mid in self.fail_ids:
            raise RuntimeError("inbox table unavailable")
        if self.during_store is not None:
            await self.during_store(raw)
        if mid not in self.ids:
            self.stored.append(raw)
            self.origins.append(origin)
        return mid


class FakeCursors:
    """The cursor table in memory; `gate` holds every load until it is set."""

    def __init__(self) -> None:
        self.saved: dict[str, tuple[int, int]] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing_saves = 0

    async def load(self, key: str) -> tuple[int, int] | None:
        await self.gate.wait()
        return self.saved.get(key)

    async def save(self, key: str, uidvalidity: int, last_uid: int) -> None:
        if self.failing_saves:
            self.failing_saves -= 1
            raise RuntimeError("cursor table unavailable")
        self.saved[key] = (uidvalidity, last_uid)


def message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)["Message-ID"])


def mid(n: int) -> str:
    return f"<msg-{n}@example.com>"


def config_for(server: DovecotServer, **overrides: Any) -> ImapConfig:
    """Settings for `server`, with short timeouts and backoff so failures resolve quickly."""
    base = ImapConfig(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        ssl=False,
        connect_timeout=5,
        initial_backoff=0.05,
        max_backoff=0.5,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def inbox() -> FakeInbox:
    return FakeInbox()


@pytest.fixture
def cursors() -> FakeCursors:
    return FakeCursors()


@pytest.fixture
async def make_poller(inbox: FakeInbox, cursors: FakeCursors) -> AsyncIterator[Callable[..., ImapPoller]]:
    made: list[ImapPoller] = []

    def make(server: DovecotServer, **overrides: Any) -> ImapPoller:
        poller = ImapPoller(
            config_for(server, **overrides), store=inbox.store, load_cursor=cursors.load, save_cursor=cursors.save
        )
        made.append(poller)
        return poller

    yield make
    for poller in made:
        await poller.aclose()


@contextlib.asynccontextmanager
async def running(poller: ImapPoller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(poller.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(WAIT):
                await task


def seen(flags: set[bytes]) -> bool:
    return SEEN in flags


def key(server: DovecotServer, folder: str = "INBOX") -> str:
    return f"{server.user}@{server.host}:{server.port}/{folder}"


def appended(server: DovecotServer, *numbers: int, folder: str = "INBOX") -> list[int]:
    """APPEND make_message(n) for each n; their UIDs."""
    return [server.append(folder, make_message(n)) for n in numbers]


# --- sweeping ------------------------------------------------------------------------------


async def test_messages_in_the_mailbox_are_stored_marked_seen_and_the_cursor_saved(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    uids = appended(dovecot, 1, 2, 3)
    poller = make_poller(dovecot)

    assert await poller.sweep_once() == 3

    assert [message_id(raw) for raw in inbox.stored] == [mid(1), mid(2), mid(3)]
    uidvalidity = dovecot.uidvalidity("INBOX")
    assert inbox.origins[0] == f"imap:{dovecot.user}@{dovecot.host}/INBOX uid={uids[0]} uidvalidity={uidvalidity}"
    assert all(seen(flags) for flags in dovecot.flags("INBOX").values())
    assert cursors.saved[key(dovecot)] == (uidvalidity, uids[-1])
    assert poller.stats.sweeps == 1
    assert poller.stats.stored == 3


async def test_with_a_processed_folder_stored_messages_are_moved_there(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1, 2, 3)
    poller = make_poller(dovecot, processed_folder="Processed")

    assert await poller.sweep_once() == 3

    assert inbox.ids == {mid(1), mid(2), mid(3)}
    assert dovecot.flags("INBOX") == {}
    moved = dovecot.flags("Processed")
    assert len(moved) == 3
    assert all(seen(flags) for flags in moved.values())
    assert cursors.saved[key(dovecot)] == (dovecot.uidvalidity("INBOX"), 3)


async def test_without_the_move_capability_messages_are_copied_flagged_deleted_and_expunged(
    dovecot_minimal: DovecotServer, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot_minimal, 1, 2)
    poller = make_poller(dovecot_minimal, processed_folder="Processed")

    assert await poller.sweep_once() == 2

    assert dovecot_minimal.flags("INBOX") == {}
    assert len(dovecot_minimal.flags("Processed")) == 2


async def test_fetching_with_peek_leaves_a_message_unseen_until_its_store_returns(
    dovecot: DovecotServer, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1, 2)
    seen_during_store: list[bool] = []

    async def look_at_flags(raw: bytes) -> None:
        flags = await asyncio.to_thread(dovecot.flags, "INBOX")
        seen_during_store.append(any(seen(f) for f in flags.values()))

    inbox.during_store = look_at_flags
    poller = make_poller(dovecot)

    assert await poller.sweep_once() == 2

    assert seen_during_store == [False, False]
    assert all(seen(flags) for flags in dovecot.flags("INBOX").values())


async def test_a_message_whose_store_raises_stays_unseen_and_is_retried_while_the_others_are_stored(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    uids = appended(dovecot, 1, 2, 3, 4, 5)
    inbox.fail_ids = {mid(3)}
    poller = make_poller(dovecot)

    assert await poller.sweep_once() == 4

    flags = dovecot.flags("INBOX")
    assert [seen(flags[uid]) for uid in uids] == [True, True, False, True, True]
    assert inbox.ids == {mid(1), mid(2), mid(4), mid(5)}
    assert cursors.saved[key(dovecot)][1] == uids[1]  # stops just below the failed message
    assert poller.stats.store_failures == 1

    inbox.fail_ids.clear()
    assert await poller.sweep_once() == 1

    assert inbox.ids == {mid(n) for n in (1, 2, 3, 4, 5)}
    assert all(seen(f) for f in dovecot.flags("INBOX").values())
    assert cursors.saved[key(dovecot)][1] == uids[-1]
    assert inbox.calls == Counter({mid(1): 1, mid(2): 1, mid(3): 2, mid(4): 1, mid(5): 1})


async def test_a_new_poller_after_a_failure_retries_it_and_restores_the_later_ones_harmlessly(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    uids = appended(dovecot, 1, 2, 3)
    inbox.fail_ids = {mid(2)}
    first = make_poller(dovecot)
    assert await first.sweep_once() == 2
    await first.aclose()
    inbox.fail_ids.clear()

    assert await make_poller(dovecot).sweep_once() == 2  # 2 is new, 3 again (idempotent)

    assert len(inbox.stored) == 3
    assert inbox.ids == {mid(1), mid(2), mid(3)}
    assert cursors.saved[key(dovecot)][1] == uids[-1]


async def test_a_new_poller_with_the_saved_cursor_does_not_redeliver(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1, 2, 3)
    first = make_poller(dovecot)
    assert await first.sweep_once() == 3
    await first.aclose()

    second = make_poller(dovecot)
    assert await second.sweep_once() == 0  # UID 4:* still matches UID 3: it is filtered out
    appended(dovecot, 4)
    assert await second.sweep_once() == 1

    assert sum(inbox.calls.values()) == 4
    assert cursors.saved[key(dovecot)][1] == 4


async def test_a_changed_uidvalidity_resets_the_cursor_and_sweeps_the_whole_folder_without_duplicates(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1, 2, 3, folder="Support")
    first = make_poller(dovecot, folder="Support")
    assert await first.sweep_once() == 3
    old_uidvalidity = dovecot.uidvalidity("Support")
    await first.aclose()

    dovecot.recreate_folder("Support")
    # New mail gets UIDs 1 and 2, below the old cursor: only a reset finds it.
    appended(dovecot, 10, 11, 1, 2, folder="Support")
    new_uidvalidity = dovecot.uidvalidity("Support")
    assert new_uidvalidity != old_uidvalidity

    assert await make_poller(dovecot, folder="Support").sweep_once() == 4

    assert sorted(inbox.ids) == sorted(mid(n) for n in (1, 2, 3, 10, 11))
    assert len(inbox.stored) == 5
    assert cursors.saved[key(dovecot, "Support")] == (new_uidvalidity, 4)


async def test_a_wrong_password_raises_an_imap_poll_error_that_does_not_echo_it(
    dovecot: DovecotServer, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot, password="not-the-password")

    with pytest.raises(ImapPollError) as raised:
        await poller.sweep_once()

    assert "not-the-password" not in str(raised.value)
    assert poller.stats.connected is False
    assert poller.stats.last_error is not None


# --- running -------------------------------------------------------------------------------


async def test_with_idle_a_new_message_is_picked_up_while_running(
    dovecot: DovecotServer, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot, poll_seconds=3600, idle_seconds=300)  # only IDLE can deliver in time

    async with running(poller):
        await poller.wait_for_sweep(1, within=WAIT)
        assert poller.stats.idle_supported is True
        await asyncio.to_thread(dovecot.append, "INBOX", make_message(1))
        await poller.wait_until(lambda s: s.stored >= 1, within=WAIT)

    assert inbox.ids == {mid(1)}
    assert all(seen(flags) for flags in dovecot.flags("INBOX").values())


async def test_an_idle_timeout_ends_in_a_sweep_and_idle_is_issued_again(
    dovecot: DovecotServer, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot, poll_seconds=3600, idle_seconds=0.2)

    async with running(poller):
        stats = await poller.wait_for_sweep(3, within=WAIT)  # catch-up, then two IDLE timeouts

    assert stats.idle_supported is True
    assert stats.reconnects == 0


@pytest.mark.parametrize("server_has_idle", [False, True], ids=["server-without-idle", "use-idle-off"])
async def test_without_idle_the_poller_polls_every_poll_seconds(
    server_has_idle: bool, request: pytest.FixtureRequest, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    server: DovecotServer = request.getfixturevalue("dovecot" if server_has_idle else "dovecot_minimal")
    poller = make_poller(server, poll_seconds=0.1, use_idle=not server_has_idle)

    async with running(poller):
        await poller.wait_for_sweep(2, within=WAIT)  # a second sweep can only come from polling
        assert poller.stats.idle_supported is server_has_idle
        await asyncio.to_thread(server.append, "INBOX", make_message(1))
        await poller.wait_until(lambda s: s.stored >= 1, within=WAIT)

    assert inbox.ids == {mid(1)}


@pytest.mark.parametrize("going_away", ["stop", "kill"])
async def test_the_poller_reconnects_with_backoff_after_the_server_restarts_and_stores_new_mail(
    going_away: str, dovecot: DovecotServer, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot)

    async with running(poller) as task:
        await poller.wait_for_sweep(1, within=WAIT)
        await asyncio.to_thread(getattr(dovecot, going_away))
        await poller.wait_until(lambda s: not s.connected and s.connect_failures >= 2, within=WAIT)
        await asyncio.to_thread(dovecot.start)
        await asyncio.to_thread(dovecot.append, "INBOX", make_message(1))
        stats = await poller.wait_until(lambda s: s.stored >= 1, within=WAIT)
        assert not task.done()

    assert stats.reconnects >= 1
    assert stats.last_error is not None
    assert inbox.ids == {mid(1)}


async def test_a_catch_up_after_a_reconnect_stores_300_waiting_messages_exactly_once(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot)

    async with running(poller):
        await poller.wait_for_sweep(1, within=WAIT)
        cursors.gate.clear()  # the next connection waits in load_cursor until the mail is there
        await asyncio.to_thread(dovecot.stop)
        await asyncio.to_thread(dovecot.start)
        await poller.wait_until(lambda s: s.connected and s.reconnects >= 1, within=WAIT)
        await asyncio.to_thread(dovecot.append_many, "INBOX", [make_message(n) for n in range(300)])
        cursors.gate.set()
        await poller.wait_until(lambda s: s.stored >= 300, within=60)

    assert len(inbox.stored) == 300
    assert set(inbox.calls.values()) == {1}
    assert cursors.saved[key(dovecot)][1] == 300
    flags = dovecot.flags("INBOX")
    assert len(flags) == 300
    assert all(seen(f) for f in flags.values())


async def test_mail_arriving_during_a_sweep_is_picked_up_before_the_poller_idles_again(
    dovecot: DovecotServer, inbox: FakeInbox, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1)

    async def deliver_another_meanwhile(raw: bytes) -> None:
        if message_id(raw) == mid(1):
            await asyncio.to_thread(dovecot.append, "INBOX", make_message(2))

    inbox.during_store = deliver_another_meanwhile
    # IDLE would not report message 2 again, and no timeout comes within the test.
    poller = make_poller(dovecot, poll_seconds=3600, idle_seconds=3600)

    async with running(poller):
        stats = await poller.wait_until(lambda s: s.stored >= 2, within=WAIT)

    assert stats.sweeps == 1
    assert inbox.ids == {mid(1), mid(2)}


async def test_a_failing_cursor_save_does_not_end_the_run_loop(
    dovecot: DovecotServer, inbox: FakeInbox, cursors: FakeCursors, make_poller: Callable[..., ImapPoller]
) -> None:
    appended(dovecot, 1)
    cursors.failing_saves = 1
    poller = make_poller(dovecot)

    async with running(poller) as task:
        await poller.wait_until(lambda s: key(dovecot) in cursors.saved and s.sweeps >= 1, within=WAIT)
        assert not task.done()

    assert poller.stats.last_error == "RuntimeError: cursor table unavailable"
    assert inbox.ids == {mid(1)}


async def test_cancelling_the_run_loop_logs_out_of_the_server(
    dovecot: DovecotServer, make_poller: Callable[..., ImapPoller]
) -> None:
    poller = make_poller(dovecot)
    task = asyncio.create_task(poller.run())
    await poller.wait_for_sweep(1, within=WAIT)
    logged_out_before = dovecot.log_text().count("Disconnected: Logged out")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(WAIT):
            await task

    assert poller.stats == PollerStats(
        connected=False,
        idle_supported=True,
        sweeps=1,
        uidvalidity=poller.stats.uidvalidity,
    )
    await wait_for_log(dovecot, lambda text: text.count("Disconnected: Logged out") > logged_out_before)


async def wait_for_log(server: DovecotServer, predicate: Callable[[str], bool]) -> None:
    """Dovecot's log process writes a moment later: wait for the line, not for a time."""
    async with asyncio.timeout(WAIT):
        while not predicate(server.log_text()):  # noqa: ASYNC110 - a log file has no event to await
            await asyncio.sleep(0.05)


# --- backoff -------------------------------------------------------------------------------


def test_backoff_doubles_from_the_initial_delay_and_stops_at_the_cap() -> None:
    def highest(low: float, high: float) -> float:
        return high

    assert [backoff_delay(n, 1.0, 300.0, highest) for n in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff_delay(10_000, 1.0, 300.0, highest) == 300


def test_backoff_jitter_stays_within_the_upper_half_of_the_ceiling() -> None:
    delays = [backoff_delay(3, 1.0, 300.0) for _ in range(200)]

    assert all(4.0 <= delay <= 8.0 for delay in delays)
    assert len(set(delays)) > 1
