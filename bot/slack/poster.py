"""The outbox's Slack rows, delivered: cards posted once and edited in place, thread messages, DMs.

Cards are rendered from the ticket as it is when the row is delivered, so a burst of changes shows the
latest state. Calls go through slack_sdk's retry handlers (429 with Retry-After, 5xx, connection errors);
what still fails waits in the outbox with backoff. At most one message a second per channel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from blocks.card import build_customer_message, build_ticket_card, customer_label
from blocks.founder import build_founder_dm
from bot.desk import Desk
from bot.mailer import backoff
from bot.slack.client import error_code
from bot.slack.digest import deliver_digest
from bot.slack.uploads import deliver_file
from bot.workers import Worker
from db import outbox
from db import slack as slack_store
from db import tickets as ticket_store
from db.outbox import OutboxItem
from ticketing.model import Ticket

log = logging.getLogger(__name__)
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
             "team_added_to_org"}
MAX_ATTEMPTS = 15
THREADS_KEPT = 10_000  # cards' locations kept in memory (a card's thread never moves)
CARD_WAIT = timedelta(seconds=2)  # a thread message looks for its card again this long after the card is due
CONCURRENCY = 8  # tickets whose rows are delivered at once (each ticket's rows stay in order)


class NoChannel(Exception):
    """The ticket's team has no channel, and general_support has none either."""


class Paced(Exception):
    """The channel had a message less than a second ago: this row waits; the others go on."""

    def __init__(self, wait: float, channel: str) -> None:
        super().__init__(f"paced for {wait:.2f}s")
        self.wait = wait
        self.channel = channel


class NotYet(Exception):
    """The row depends on one not delivered yet (a thread message before its card)."""


class SlackPoster(Worker):
    def __init__(self, desk: Desk, client: AsyncWebClient) -> None:
        super().__init__()
        self.desk = desk
        self.client = client
        self.delivered = 0
        self._last_post: dict[str, float] = {}
        self._threads: dict[str, tuple[str, str]] = {}  # ticket -> its card's (channel, ts); never changes once set
        self._posted: dict[str, tuple[str, str]] = {}  # cards just posted, saved with their row's "sent"
        self._paced_this_round: dict[str, int] = {}  # channel -> rows of this round put off for its pace

    async def run(self) -> None:
        while not self.stopping:
            try:
                handled = await self.deliver_due()
            except Exception:
                log.exception("the Slack poster could not reach the store; trying again shortly")
                handled = 0
            if handled == 0:
                await self.idle(1.0)

    async def deliver_due(self, limit: int = 50) -> int:
        """Deliver what is due, cards first (a burst's new tickets show up before the chatter in older threads):
        each ticket's rows in order (its card before its thread messages), different tickets' rows side by side,
        at most CONCURRENCY calls to Slack at once."""
        async with self.desk.db.transaction() as session:
            claimed = await outbox.claim_due(session, ("slack",), self.desk.clock.now(), limit, first_ops=("card",))
            items = await self._coalesce_cards(session, claimed)
        self._paced_this_round = {}
        # Cards go before the rest: a channel's next turns are handed out in this order when it is busy.
        await self._deliver_by_ticket([item for item in items if item.payload.get("op") == "card"])
        await self._deliver_by_ticket([item for item in items if item.payload.get("op") != "card"])
        return len(claimed)

    async def _deliver_by_ticket(self, items: list[OutboxItem]) -> None:
        """Each ticket's rows in order, different tickets' side by side (at most CONCURRENCY at once)."""
        by_ticket: dict[str, list[OutboxItem]] = {}
        for item in items:
            by_ticket.setdefault(item.ticket_id or f"row {item.id}", []).append(item)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def in_order(rows: list[OutboxItem]) -> None:
            async with gate:
                for item in rows:
                    if self.stopping:
                        return
                    await self.deliver(item)

        results = await asyncio.gather(*(in_order(rows) for rows in by_ticket.values()), return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed  # after every ticket's rows had their turn; run() logs it, the leases retry the rest

    async def _coalesce_cards(self, session: AsyncSession, items: list[OutboxItem]) -> list[OutboxItem]:
        """A card is rendered from the ticket as it is when delivered, so one card row a ticket per batch shows
        every change that queued the others (all were committed before this claim); the rest are marked sent
        as coalesced. A ticket linked to five new ones then gets one chat.update, not five."""
        first: dict[str, int] = {}
        kept: list[OutboxItem] = []
        for item in items:
            if item.payload.get("op") == "card" and item.ticket_id is not None:
                if item.ticket_id in first:
                    await outbox.mark_sent(session, item.id, self.desk.clock.now(),
                                           {"coalesced_into": first[item.ticket_id]})
                    continue
                first[item.ticket_id] = item.id
            kept.append(item)
        return kept

    async def deliver(self, item: OutboxItem) -> None:
        try:
            result = await self.perform(item.payload, item.id)
        except Paced as paced:
            # The rows a round finds paced in one channel are spread over the channel's next turns (one a
            # pace interval), in the order claimed, instead of all coming back at the next turn to be paced again.
            queued = self._paced_this_round.get(paced.channel, 0)
            self._paced_this_round[paced.channel] = queued + 1
            later = paced.wait + queued * self.desk.settings.slack_channel_interval
            async with self.desk.db.transaction() as session:
                await outbox.postpone(session, item.id, self.desk.clock.now() + timedelta(seconds=later))
        except NotYet as error:
            await self._after_card(item, str(error))
        except NoChannel as error:
            await self._dead(item, str(error))
        except SlackApiError as error:
            code = error_code(error)
            status = error.response.status_code if error.response else 0
            if code in TRANSIENT or status >= 500:
                await self._later(item, f"slack: {code or status}")
            else:
                await self._dead(item, f"slack refused {item.payload.get('op')}: {code or status}")
        except (OSError, TimeoutError) as error:
            await self._later(item, f"slack unreachable: {type(error).__name__}")
        else:
            posted = self._posted.pop(item.ticket_id, None) if item.ticket_id else None
            async with self.desk.db.transaction() as session:
                if posted is not None and item.ticket_id is not None:  # the new card's place, with its row's "sent"
                    await slack_store.save_thread(session, item.ticket_id, *posted, self.desk.clock.now())
                await outbox.mark_sent(session, item.id, self.desk.clock.now(), result)
            if posted is not None and item.ticket_id is not None:
                self._remember_thread(item.ticket_id, posted)
            self.delivered += 1

    async def _after_card(self, item: OutboxItem, error: str) -> None:
        """A thread message whose card is not posted yet. While the card waits its turn (a busy channel posts
        one message a second, so that can take minutes in a burst) the row waits too, without using up its
        attempts; only when no card is on its way does it count attempts (and end dead, with its reason)."""
        async with self.desk.db.transaction() as session:
            card_due = await outbox.pending_op_due(session, item.ticket_id, "card") if item.ticket_id else None
            if card_due is not None:  # not before the card itself is due again, and then just after it
                await outbox.postpone(session, item.id, max(self.desk.clock.now(), card_due) + CARD_WAIT)
                return
        await self._later(item, error, seconds=1.0)

    async def _later(self, item: OutboxItem, error: str, seconds: float | None = None) -> None:
        if item.attempts + 1 >= MAX_ATTEMPTS:
            await self._dead(item, f"gave up after {MAX_ATTEMPTS} attempts: {error}")
            return
        delay = timedelta(seconds=seconds) if seconds is not None else backoff(item.attempts, self.desk.rng)
        async with self.desk.db.transaction() as session:
            await outbox.mark_retry(session, item.id, error, self.desk.clock.now() + delay)

    async def _dead(self, item: OutboxItem, error: str) -> None:
        log.error("Slack row %s given up: %s", item.id, error)
        async with self.desk.db.transaction() as session:
            await outbox.mark_dead(session, item.id, error)

    # -- the operations ----------------------------------------------------------------------------------

    async def perform(self, payload: dict[str, Any], item_id: int | None = None) -> dict[str, Any]:
        """One row's Slack call. The ticket is read (at delivery, so the card shows its latest state) only by
        the operations that render it; thread messages and edits need just the card's thread."""
        op, ticket_id = payload["op"], payload["ticket_id"]
        if op == "digest":  # a channel's morning digest: no ticket (bot/digest.py)
            return await deliver_digest(self, item_id, payload)
        if op == "card":
            return await self.card(await self._ticket(ticket_id))
        if op == "dm":
            opened = await self._call("conversations_open", payload["user"], users=payload["user"])
            return await self.post(opened["channel"]["id"], payload["text"], payload.get("blocks"))
        thread = await self._thread(ticket_id)
        if op == "customer_message":
            ticket = await self._ticket(ticket_id)
            message = next((m for m in ticket.messages if m.id == payload["message_id"]), None)
            if message is None:
                return {"skipped": "message not found"}
            text, blocks = build_customer_message(message, customer_label(ticket.customer), ticket_id=ticket.id)
            return await self.post(thread[0], text, blocks, thread_ts=thread[1])
        if op == "thread":
            return await self.post(thread[0], payload["text"], payload.get("blocks"), thread_ts=thread[1],
                                   broadcast=bool(payload.get("broadcast")))
        if op == "founder_dm":
            return await self.founder_dm(await self._ticket(ticket_id), payload["user"], thread)
        if op == "update_message":
            return await self._call("chat_update", thread[0], channel=payload["channel"], ts=payload["ts"],
                                    text=payload["text"], blocks=payload.get("blocks") or [])
        if op == "prompt":
            return await self.prompt(payload, thread)
        if op == "react":
            return await self.react(payload)
        if op == "file":
            return await deliver_file(self, item_id, payload, thread)
        raise ValueError(f"unknown Slack operation {op!r}")

    async def card(self, ticket: Ticket) -> dict[str, Any]:
        agent = self.desk.config.agent(ticket.assignee) if ticket.assignee else None
        text, blocks = build_ticket_card(
            ticket, self.desk.clock.now(), customer_label=customer_label(ticket.customer),
            assignee_name=agent.name if agent else None, reason=ticket.classification.reason,
            breach="SLA breached" if ticket.sla.breached else None, related=ticket.related)
        found = await self._find_thread(ticket.id)
        if found is not None:
            return await self._call("chat_update", found[0], channel=found[0], ts=found[1], text=text,
                                    blocks=[b.to_dict() for b in blocks])
        channel = self.channel_for(ticket)
        answer = await self.post(channel, text, blocks)
        self._posted[ticket.id] = (answer["channel"], answer["ts"])  # saved by `deliver` with the row's "sent"
        log.info("card of ticket %s posted in %s (ts %s)", ticket.id, answer["channel"], answer["ts"])
        return answer

    def channel_for(self, ticket: Ticket) -> str:
        teams = self.desk.config.teams
        for name in (ticket.team, "general_support"):
            team = teams.get(name)
            if team is not None and team.channel:
                return team.channel
        raise NoChannel(f"no channel for team {ticket.team}: set teams.{ticket.team}.channel in support.yml")

    async def founder_dm(self, ticket: Ticket, user: str, thread: tuple[str, str]) -> dict[str, Any]:
        permalink = await self._call("chat_getPermalink", thread[0], channel=thread[0], message_ts=thread[1])
        opened = await self._call("conversations_open", user, users=user)
        channel = opened["channel"]["id"]
        text, blocks = build_founder_dm(ticket, self.desk.clock.now(), customer_label=customer_label(ticket.customer),
                                        permalink=permalink.get("permalink"))
        return await self.post(channel, text, blocks)

    async def prompt(self, payload: dict[str, Any], thread: tuple[str, str]) -> dict[str, Any]:
        """The Undo / Send now / Keep as note message under an agent's thread answer; its ts is kept."""
        answer = await self._call("chat_postMessage", thread[0], channel=thread[0], thread_ts=thread[1],
                                  text=payload["text"], blocks=payload["blocks"])
        async with self.desk.db.transaction() as session:
            await slack_store.set_pending(session, payload["pending_id"], prompt_ts=answer["ts"])
        return answer

    async def react(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A reaction on a message (the 🔒 on a note); one already there (a retry whose answer was lost) is done."""
        try:
            return await self._call("reactions_add", payload["channel"], channel=payload["channel"],
                                    timestamp=payload["ts"], name=payload["name"])
        except SlackApiError as error:
            if error_code(error) == "already_reacted":
                return {"ok": True, "already_reacted": True}
            raise

    async def post(self, channel: str, text: str, blocks: Any, thread_ts: str | None = None,
                   broadcast: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        if broadcast and thread_ts:
            extra["reply_broadcast"] = True
        if blocks is not None:
            extra["blocks"] = [b if isinstance(b, dict) else b.to_dict() for b in blocks]
        return await self._call("chat_postMessage", channel, channel=channel, text=text, **extra)

    async def _call(self, method: str, pace_key: str, **arguments: Any) -> dict[str, Any]:
        """One Web API call, paced to one a second per channel for the posting methods."""
        if method == "chat_postMessage":
            self.take_turn(pace_key)
        response = await getattr(self.client, method)(**arguments)
        return dict(response.data) if isinstance(response.data, dict) else {}

    def take_turn(self, channel: str) -> None:
        """The channel's turn to get a message now, or Paced (at most one a second per channel)."""
        last = self._last_post.get(channel)  # none yet: post now (monotonic time may be younger than the pace)
        wait = 0.0 if last is None else last + self.desk.settings.slack_channel_interval - time.monotonic()
        if wait > 0:
            raise Paced(wait, channel)  # never sleep here: one busy channel must not hold up the others
        self._last_post[channel] = time.monotonic()

    async def _ticket(self, ticket_id: str) -> Ticket:
        async with self.desk.db.sessions() as session:
            return await ticket_store.get_ticket(session, ticket_id)

    async def _find_thread(self, ticket_id: str) -> tuple[str, str] | None:
        known = self._threads.get(ticket_id)
        if known is not None:
            return known
        async with self.desk.db.sessions() as session:
            found = await slack_store.find_thread(session, ticket_id)
        if found is not None:
            self._remember_thread(ticket_id, found)
        return found

    def _remember_thread(self, ticket_id: str, thread: tuple[str, str]) -> None:
        if len(self._threads) >= THREADS_KEPT:
            del self._threads[next(iter(self._threads))]  # the oldest; it is read again if needed
        self._threads[ticket_id] = thread

    async def _thread(self, ticket_id: str) -> tuple[str, str]:
        found = await self._find_thread(ticket_id)
        if found is None:
            raise NotYet(f"the card of {ticket_id} is not posted yet")
        return found
