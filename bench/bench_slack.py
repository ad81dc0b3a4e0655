"""Slack benchmark: button-click acknowledgement latency, and SMTP 250 -> the card's chat.postMessage.

    .venv/bin/python -m bench.bench_slack [--clicks 50] [--rounds 5] [--emails 200] [--connections 8]
                                          [--postgres [URL]] [--scenarios paced-1ch,paced-5ch,unpaced-1ch]
                                          [--no-mail-out] [--profile DIR]

Everything but the two clients runs in this process, as `tests/bot/test_slack_flow.py` runs it: the Slack
Web API stand-in (``tests.fakes.slack_api.SlackApi``, on a thread of its own), an SMTP sink for mail out
(``tests.smtp_sink.SmtpSink``; ``--no-mail-out`` leaves confirmations waiting in the outbox instead) and
the desk (``bot.serve.start``: SMTP listener, inbox worker, mailer, the Bolt app behind aiohttp, the Slack
poster) with the test ``support.yml`` (``tests.conftest.TEST_SUPPORT_YML``) on a fresh SQLite file, and with
``--postgres`` also on a fresh PostgreSQL database created with asyncpg (dropped afterwards). Each phase
starts its own desk, stand-in and database.

**Click acknowledgement.** One email becomes a ticket and its card is posted. Then a client in another
process (this module, ``click-client``; its own interpreter, so it does not share the desk's GIL) fires
``--clicks`` signed ``block_actions`` requests at once at ``/slack/events``, signed exactly as Slack signs
them (``tests.bot.slack_helpers.sign``), alternating ``open_thread`` (a link button: acknowledged, nothing
else) and ``assign_me`` (acknowledged, then a locked ticket update, a card refresh and a thread notice in
the outbox) from the four agents of the test support.yml. Each request is timed on the client from just
before it is sent to its response read (status 200 expected). ``--rounds`` rounds; the best round (lowest
p99), every round and all rounds pooled are reported. The baseline, measured in the same rounds with the
same bodies and headers: a trivial aiohttp POST handler (reads the body, answers 200) on a second aiohttp
server in the desk's own event loop, and ``GET /health`` on the desk's server (the route is GET only; a
POST there answers 405). Before each batch the client opens (or re-uses) as many kept-alive connections
as the batch has requests, so connection set-up is in neither number. Between rounds the run waits for
the clicks' background work (Bolt runs a listener on after its ``ack()``) to finish.

**Email to card.** ``--emails`` mails with unique subjects, each from its own sender, sent over
``--connections`` SMTP connections by ``bench.smtp_client`` (another process), which records the moment
each DATA got its 250. The stand-in records every request with its arrival time; the card of a mail is the
first ``chat.postMessage`` without ``thread_ts`` whose body holds the mail's subject token. Latency = that
arrival - the client's 250, both wall-clock on this machine; split at the desk's ``handled_at`` (ticket
and outbox rows committed) into inbox (250 -> committed) and poster (committed -> card posted). The desk
paces ``chat.postMessage`` to ``SLACK_CHANNEL_INTERVAL`` (default 1 s) per channel, and every new ticket
posts twice in its channel (the card, and the customer's message in its thread), so the scenarios are:

* ``paced-1ch``: (a) the product default, 1 message/s per channel, every mail about the same thing, so
  every card goes to one channel (technical_team's). The honest burst result.
* ``paced-5ch``: (a') the product default, the mails spread over five topics that route to five teams,
  five channels.
* ``unpaced-1ch``: (b) ``slack_channel_interval=0``, one channel: the desk's own overhead.

One warm-up mail goes first in each phase (and is not counted). Numbers go to the terminal and to
``bench/out/slack.json``. With them: per-thread CPU seconds of this process during each phase (desk loop,
Slack stand-in, SMTP sink, aiosqlite), which show how much of the machine the stand-ins took; the CPU
other processes used meanwhile (a shared machine's other work slows the desk); and on SQLite how long each
worker waited in ``BEGIN IMMEDIATE`` for the write lock (SQLAlchemy cursor events; no desk code changed).
``--profile DIR`` writes cProfile files of the desk's event-loop thread during the timed click rounds and
the unpaced burst. Nothing here asserts a time: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import re
import resource
import secrets
import smtplib
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from sqlalchemy import event, func, select

from bench.bench_ingest import deliver, fresh_postgres, percentile, postgres_reachable
from blocks.ids import Action, card_actions_block_id
from bot.serve import Running, start
from bot.settings import Settings
from db.tables import InboundEmailRow, OutboxRow
from tests.bot.slack_helpers import SIGNING_SECRET, button, sign
from tests.conftest import TEST_SUPPORT_YML
from tests.fakes.slack_api import SlackApi
from tests.smtp_sink import SmtpSink

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "slack.json"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SUPPORT = "support@wedsync.com"
CLICK_TARGET_P99_MS = 100.0
EMAIL_TARGET_P99_MS = 500.0
FORM = "application/x-www-form-urlencoded"

# Five topics that the default patterns route to five different teams (five channels in the test support.yml).
TOPICS = (
    ("My RSVP form won't save", "Hi, my RSVP form won't save since this morning.\n\nThanks"),  # technical_team
    ("Payment failed", "My card payment failed twice today.\n\nThanks"),  # billing_team
    ("Question about guest lists", "How do I add a second guest list for the evening reception?"),  # cust. success
    ("Someone logged into my account", "I got a login alert from another country, I think my account was hacked."),
    ("The dashboard is very slow", "Pages take 30 seconds to load today.\n\nThanks"),  # general_support
)
SCENARIOS = {
    "paced-1ch": ("(a) default pacing (1 msg/s per channel), one channel", None, 1),
    "paced-5ch": ("(a') default pacing, five topics -> five channels", None, 5),
    "unpaced-1ch": ("(b) pacing 0, one channel: the desk's own overhead", 0.0, 1),
}
TOKEN = re.compile(rb"REF([0-9a-f]{4})N(\d{5})")


def token(tag: str, number: int) -> str:
    """A subject token, the same length for every mail of a run, so no token is inside another."""
    return f"REF{tag}N{number:05d}"


# --------------------------------------------------------------------------------------------- the click client


async def _fire(session: aiohttp.ClientSession, command: dict[str, Any], secret: str) -> dict[str, Any]:
    requests = command["requests"]
    warm = command.get("warm")
    if warm:  # as many kept-alive connections in the pool as requests in the batch
        async def touch() -> None:
            async with session.get(warm) as response:
                await response.read()

        await asyncio.gather(*(touch() for _ in requests))
        await asyncio.sleep(0.05)
    stamp = int(time.time())
    prepared = [(r["method"], r["url"], r["body"].encode(),
                 {"Content-Type": r["content_type"], "X-Slack-Request-Timestamp": str(stamp),
                  "X-Slack-Signature": sign(r["body"], stamp, secret)}) for r in requests]

    async def one(method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            async with session.request(method, url, data=body, headers=headers) as response:
                answer = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError) as error:
            return {"started": started, "ms": (time.perf_counter() - started) * 1000, "status": 0,
                    "body": f"{type(error).__name__}: {error}"}
        return {"started": started, "ms": (time.perf_counter() - started) * 1000, "status": status,
                "body": answer[:200].decode(errors="replace")}

    began = time.perf_counter()
    if command.get("sequential"):
        results = [await one(*p) for p in prepared]
    else:
        results = await asyncio.gather(*(one(*p) for p in prepared))
    wall = (time.perf_counter() - began) * 1000
    for result in results:
        result["start_ms"] = (result.pop("started") - began) * 1000
    return {"results": results, "wall_ms": wall}


async def click_client(secret: str) -> None:
    """`python -m bench.bench_slack click-client`: one JSON command a line on stdin, one JSON answer a line."""
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        print("ready", flush=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            if command.get("op") == "quit":
                return
            print(json.dumps(await _fire(session, command, secret)), flush=True)


class ClickClient:
    """The parent's end of the click client process."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.bench_slack", "click-client", "--secret", SIGNING_SECRET,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT, limit=2**24,
        )
        assert self.process.stdout is not None
        ready = await self.process.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the click client did not start: {ready!r}")

    async def batch(self, requests: list[dict[str, str]], warm: str | None, sequential: bool = False
                    ) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None and self.process.stdout is not None
        command = {"op": "batch", "requests": requests, "warm": warm, "sequential": sequential}
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the click client stopped")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def close(self) -> None:
        if self.process is None or self.process.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.process.stdin.write(b'{"op": "quit"}\n')
            await self.process.stdin.drain()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# --------------------------------------------------------------------------------------------- the desk


@dataclass
class Parts:
    running: Running
    slack_api: SlackApi
    sink: SmtpSink | None

    @property
    def http_port(self) -> int:
        assert self.running.slack is not None and self.running.slack.http is not None
        return self.running.slack.http.port


@contextlib.asynccontextmanager
async def desk_parts(url: str, workdir: Path, interval: float | None, mail_out: bool) -> AsyncIterator[Parts]:
    """The Slack stand-in, the SMTP sink and the desk, as `tests/bot/test_slack_flow.py` starts them;
    `interval` None keeps the product's default pacing."""
    support = workdir / "support.yml"
    support.write_text(TEST_SUPPORT_YML, encoding="utf-8")
    slack_api = SlackApi().start()
    sink: SmtpSink | None = None
    running: Running | None = None
    try:
        extra: dict[str, Any] = {}
        if mail_out:
            sink = SmtpSink()
            sink.start()
            extra.update(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_starttls=False)
        if interval is not None:
            extra["slack_channel_interval"] = interval
        settings = Settings(
            _env_file=None,
            database_url=url, support_config=support, smtp_listen_host="127.0.0.1", smtp_listen_port=0,
            imap_host=None, slack_bot_token=slack_api.token, slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_api.url, http_host="127.0.0.1", http_port=0, **extra,
        )
        running = await start(settings, say=lambda _line: None)
        yield Parts(running, slack_api, sink)
    finally:
        if running is not None:
            await running.stop()
        slack_api.stop()
        if sink is not None:
            sink.stop()


def a_mail(tag: str, number: int, topic: int, domain: str = "example.com") -> EmailMessage:
    subject, body = TOPICS[topic % len(TOPICS)]
    message = EmailMessage()
    message["From"] = f"Customer {number} <customer{number:05d}.{tag}@{domain}>"
    message["To"] = SUPPORT
    message["Subject"] = f"{token(tag, number)} {subject}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="bench.example.com")
    message.set_content(body)
    return message


def send_one(port: int, message: EmailMessage) -> float:
    """Send one mail; the wall-clock moment its 250 came back."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message)
        return datetime.now(UTC).timestamp()


@dataclass
class Card:
    time: float  # wall clock when the stand-in received the chat.postMessage
    channel: str


class CardWatch:
    """Finds each token's card among the stand-in's recorded requests, scanning only what is new."""

    def __init__(self, slack_api: SlackApi, tag: str) -> None:
        self.slack_api = slack_api
        self.tag = tag.encode()
        self.seen = 0
        self.cards: dict[int, Card] = {}
        self.posts: dict[str, int] = {}  # chat.postMessage calls per channel, cards and thread messages

    def scan(self) -> None:
        requests = self.slack_api.requests
        for request in requests[self.seen:]:
            if not request.path.endswith("/chat.postMessage"):
                continue
            params = request.params
            channel = str(params.get("channel", ""))
            self.posts[channel] = self.posts.get(channel, 0) + 1
            if params.get("thread_ts"):
                continue
            for found in TOKEN.finditer(request.raw):
                if found.group(1) == self.tag:
                    self.cards.setdefault(int(found.group(2)), Card(request.time, channel))
                    break
        self.seen = len(requests)

    async def wait(self, numbers: Sequence[int], within: float) -> bool:
        deadline = time.monotonic() + within
        while True:
            self.scan()
            if all(n in self.cards for n in numbers):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)


async def handled_at(running: Running, message_ids: Sequence[str]) -> dict[str, tuple[float, str | None]]:
    """message id (without <>) -> (handled_at as wall-clock seconds, ticket id)."""
    out: dict[str, tuple[float, str | None]] = {}
    async with running.desk.db.sessions() as session:
        rows = await session.execute(
            select(InboundEmailRow.message_id, InboundEmailRow.handled_at, InboundEmailRow.ticket_id)
            .where(InboundEmailRow.message_id.in_(list(message_ids)))
        )
        for message_id, handled, ticket_id in rows:
            if handled is not None:
                moment = handled if handled.tzinfo else handled.replace(tzinfo=UTC)
                out[message_id] = (moment.timestamp(), ticket_id)
    return out


async def outbox_counts(running: Running) -> dict[str, int]:
    async with running.desk.db.sessions() as session:
        rows = await session.execute(
            select(OutboxRow.kind, OutboxRow.status, func.count()).group_by(OutboxRow.kind, OutboxRow.status))
        return {f"{kind} {status}": int(count) for kind, status, count in rows}


def _bolt_tasks() -> list[asyncio.Task[Any]]:
    """Bolt's listener tasks still running after their ack (process_before_response=False)."""
    return [task for task in asyncio.all_tasks()
            if "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")]


async def wait_quiet(within: float = 60.0) -> float:
    """Wait until the clicks' background work is done (every click was answered, so no new work starts);
    the seconds it took."""
    started = time.monotonic()
    tasks = _bolt_tasks()
    if tasks:
        await asyncio.wait(tasks, timeout=within)
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------- SQLite lock waits


WORKER_TASKS = ("inbox", "slack-poster", "slack-pending", "mailer", "sla-ticker", "sms", "imap")


def _who() -> str:
    task = asyncio.current_task()
    if task is None:
        return "no task"
    if task.get_name() in WORKER_TASKS:
        return task.get_name()
    name = getattr(task.get_coro(), "__qualname__", "?")
    if "run_ack_function_asynchronously" in name:
        return "click listeners (after the ack)"
    if task.get_name().startswith("smtp-store") or name.startswith("SMTP.") or "_store" in name:
        return "SMTP store (before the 250)"
    return name


class LockWaits:
    """How long each BEGIN took, by the worker that said it. On SQLite every write transaction starts with
    BEGIN IMMEDIATE, which waits (in SQLite's busy handler, sleeping and retrying) until no other connection
    writes; that wait is what this records. Read through SQLAlchemy's cursor events, so nothing of the desk
    is changed. (On PostgreSQL no BEGIN passes through the cursor, and nothing is recorded.)"""

    def __init__(self, running: Running) -> None:
        self.engine = running.desk.db.engine.sync_engine
        self.waits: dict[str, list[float]] = {}
        self._started: dict[int, float] = {}
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            self._started[id(connection)] = time.perf_counter()

    def _after(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            started = self._started.pop(id(connection), None)
            if started is not None:
                self.waits.setdefault(_who(), []).append((time.perf_counter() - started) * 1000)

    def reset(self) -> None:
        self.waits = {}

    def summary(self) -> dict[str, dict[str, float]]:
        return {who: {**stats(ms), "total_s": sum(ms) / 1000}
                for who, ms in sorted(self.waits.items(), key=lambda kv: -sum(kv[1]))}

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


# --------------------------------------------------------------------------------------------- CPU per thread


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far per thread of this process (Linux /proc), grouped by what the thread is."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {"process": time.process_time()}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if thread is threading.main_thread():
            label = "desk event loop (main thread)"
        elif thread.name == SlackApi.name:
            label = "Slack stand-in"
        elif thread.name == "smtp-sink":
            label = "SMTP sink (mail out)"
        elif type(thread).__module__.startswith("aiosqlite"):
            label = "aiosqlite"
        else:
            label = "other threads"
        out[label] = out.get(label, 0.0) + seconds
    return out


def machine_cpu() -> tuple[float, float, float, float]:
    """(wall clock, CPU seconds used on the whole machine, by this process, by its ended child processes)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), time.process_time(),
            children.ru_utime + children.ru_stime)


def machine_delta(before: tuple[float, float, float, float]) -> dict[str, float]:
    """What else ran on the machine during a phase: a shared machine's other work slows the desk down."""
    wall, machine, own, children = (a - b for a, b in zip(machine_cpu(), before, strict=True))
    others = max(0.0, machine - own - children)
    return {"wall_s": round(wall, 1), "machine_cpu_s": round(machine, 1), "bench_cpu_s": round(own + children, 1),
            "other_processes_cpu_s": round(others, 1), "other_processes_cores": round(others / wall, 2) if wall else 0,
            "load_average_after": round(os.getloadavg()[0], 2)}


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before.get(k, 0.0), 2) for k in after if after[k] - before.get(k, 0.0) > 0.005}


def top_of(profile: cProfile.Profile, path: Path, lines: int = 12) -> str:
    profile.dump_stats(path)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).strip_dirs().sort_stats("tottime").print_stats(lines)
    return text.getvalue()


def stats(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": percentile(values, 0.50), "p99_ms": percentile(values, 0.99),
            "max_ms": max(values), "min_ms": min(values)}


# --------------------------------------------------------------------------------------------- clicks


async def start_baseline_server() -> tuple[web.AppRunner, str]:
    """A trivial aiohttp handler in the desk's event loop: reads the body, answers 200."""

    async def trivial(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200, text="")

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/baseline", trivial)
    app.router.add_get("/baseline", trivial)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    port = int(sockets[0].getsockname()[1]) if sockets else 0
    return runner, f"http://127.0.0.1:{port}/baseline"


def click_bodies(ticket_id: str, channel: str, agents: Sequence[str], count: int, round_no: int,
                 only: Action | None = None) -> list[str]:
    """Alternately open_thread (ack only) and assign_me (real work), from each agent in turn; or `only` one."""
    bodies = []
    for number in range(count):
        agent = agents[(number // 2) % len(agents)]
        action = only or (Action.OPEN_THREAD if number % 2 == 0 else Action.ASSIGN_ME)
        payload = button(agent, action.value, ticket_id, channel, f"bench.{round_no}.{number}",
                         block_id=card_actions_block_id(ticket_id))
        bodies.append(urllib.parse.urlencode({"payload": json.dumps(payload)}))
    return bodies


def summarize_batch(batch: dict[str, Any], kinds: Sequence[str] | None = None) -> dict[str, Any]:
    results = batch["results"]
    times = [r["ms"] for r in results]
    out: dict[str, Any] = {**stats(times), "wall_ms": batch["wall_ms"],
                           "last_sent_ms": max(r["start_ms"] for r in results),
                           "statuses": {}}
    for result in results:
        out["statuses"][str(result["status"])] = out["statuses"].get(str(result["status"]), 0) + 1
    if kinds is not None:
        for kind in sorted(set(kinds)):
            out[kind] = stats([r["ms"] for r, k in zip(results, kinds, strict=True) if k == kind])
    bad = [r["body"] for r in results if r["status"] != 200]
    if bad:
        out["non_200_bodies"] = bad[:3]
    return out


async def click_phase(url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    agents = [str(a["slack_id"]) for a in yaml.safe_load(TEST_SUPPORT_YML)["agents"]]
    tag = secrets.token_hex(2)
    machine_before = machine_cpu()
    async with desk_parts(url, workdir, None, args.mail_out) as parts:
        running, slack_api = parts.running, parts.slack_api
        baseline_runner, baseline_url = await start_baseline_server()
        client = ClickClient()
        try:
            message = a_mail(tag, 0, 0)
            await asyncio.to_thread(send_one, running.listener.port, message)
            watch = CardWatch(slack_api, tag)
            if not await watch.wait([0], within=30):
                raise RuntimeError("the ticket's card was not posted within 30 s")
            found = await handled_at(running, [message["Message-ID"].strip("<>")])
            ticket_id = next(iter(found.values()))[1]
            assert ticket_id is not None
            channel = watch.cards[0].channel
            events = f"http://127.0.0.1:{parts.http_port}/slack/events"
            health = f"http://127.0.0.1:{parts.http_port}/health"
            await client.start()

            def requests(method: str, where: str, bodies: list[str]) -> list[dict[str, str]]:
                return [{"method": method, "url": where, "content_type": FORM, "body": b} for b in bodies]

            kinds = ["open_thread" if n % 2 == 0 else "assign_me" for n in range(args.clicks)]
            warm = click_bodies(ticket_id, channel, agents, args.clicks, -1)
            await client.batch(requests("POST", events, warm), warm=health)  # Bolt's first auth.test, caches
            await client.batch(requests("POST", baseline_url, warm), warm=baseline_url)
            await wait_quiet()
            locks = LockWaits(running)
            profile = cProfile.Profile() if args.profile else None
            rounds: list[dict[str, Any]] = []
            cpu_before = thread_cpu()
            for round_no in range(args.rounds):
                bodies = click_bodies(ticket_id, channel, agents, args.clicks, round_no)
                trivial = await client.batch(requests("POST", baseline_url, bodies), warm=baseline_url)
                healthy = await client.batch(requests("GET", health, bodies), warm=health)
                if profile is not None:
                    profile.enable()
                clicks = await client.batch(requests("POST", events, bodies), warm=health)
                quiet = await wait_quiet()
                if profile is not None:
                    profile.disable()
                rounds.append({"baseline_post": summarize_batch(trivial), "baseline_health": summarize_batch(healthy),
                               "clicks": summarize_batch(clicks, kinds), "background_done_after_s": quiet,
                               "_click_ms": [r["ms"] for r in clicks["results"]],
                               "_base_ms": [r["ms"] for r in trivial["results"]],
                               "_health_ms": [r["ms"] for r in healthy["results"]]})
                c, b = rounds[-1]["clicks"], rounds[-1]["baseline_post"]
                print(f"    round {round_no + 1}: clicks p50 {c['p50_ms']:.1f} p99 {c['p99_ms']:.1f} ms; "
                      f"baseline p50 {b['p50_ms']:.1f} p99 {b['p99_ms']:.1f} ms; background work done "
                      f"{quiet:.2f}s after the last ack", flush=True)
            cpu = cpu_delta(cpu_before, thread_cpu())
            lock_waits = locks.summary()
            profile_top = top_of(profile, args.profile / "clicks.prof") if profile is not None else None

            # Where the time goes: one request at a time, and each kind of click alone at full concurrency.
            breakdown: dict[str, Any] = {}
            n_seq = min(20, args.clicks)
            for name, method, where, only, sequential in (
                ("sequential: trivial aiohttp POST", "POST", baseline_url, None, True),
                ("sequential: open_thread (ack only)", "POST", events, Action.OPEN_THREAD, True),
                ("sequential: assign_me", "POST", events, Action.ASSIGN_ME, True),
                (f"{args.clicks} concurrent: open_thread only", "POST", events, Action.OPEN_THREAD, False),
                (f"{args.clicks} concurrent: assign_me only", "POST", events, Action.ASSIGN_ME, False),
            ):
                await asyncio.sleep(1.0)
                count = n_seq if sequential else args.clicks
                bodies = click_bodies(ticket_id, channel, agents, count, 1000 + len(breakdown), only)
                warm_url = baseline_url if where == baseline_url else health
                batch = await client.batch(requests(method, where, bodies), warm=warm_url, sequential=sequential)
                breakdown[name] = summarize_batch(batch)
                breakdown[name]["background_done_after_s"] = await wait_quiet()
            locks.close()
            await asyncio.sleep(0.5)
            outbox = await outbox_counts(running)
            ephemerals = slack_api.ephemerals()
            invalid = slack_api.invalid
            server_errors = slack_api.server_errors
        finally:
            await client.close()
            await baseline_runner.cleanup()

    machine = machine_delta(machine_before)
    pooled_clicks = [ms for r in rounds for ms in r.pop("_click_ms")]
    pooled_base = [ms for r in rounds for ms in r.pop("_base_ms")]
    pooled_health = [ms for r in rounds for ms in r.pop("_health_ms")]
    best = min(range(len(rounds)), key=lambda i: rounds[i]["clicks"]["p99_ms"])
    best_base = min(range(len(rounds)), key=lambda i: rounds[i]["baseline_post"]["p99_ms"])
    return {
        "ticket": ticket_id, "channel": channel, "clicks_per_round": args.clicks, "rounds": rounds,
        "best_round": best + 1, "best": rounds[best]["clicks"], "best_baseline": rounds[best_base]["baseline_post"],
        "pooled": {"clicks": {**stats(pooled_clicks),
                              "open_thread": stats([ms for i, ms in enumerate(pooled_clicks)
                                                    if kinds[i % args.clicks] == "open_thread"]),
                              "assign_me": stats([ms for i, ms in enumerate(pooled_clicks)
                                                  if kinds[i % args.clicks] == "assign_me"])},
                   "baseline_post": stats(pooled_base), "baseline_health": stats(pooled_health)},
        "rounds_meeting_target": sum(1 for r in rounds if r["clicks"]["p99_ms"] < CLICK_TARGET_P99_MS),
        "cpu_seconds_during_rounds": cpu, "outbox_after": outbox, "ephemerals": len(ephemerals),
        "ephemeral_texts": sorted({e.get("text", "") for e in ephemerals})[:5],
        "invalid_payloads": len(invalid), "stand_in_errors": len(server_errors), "profile_top": profile_top,
        "breakdown": breakdown, "sqlite_lock_waits_during_rounds": lock_waits, "machine": machine,
    }


# --------------------------------------------------------------------------------------------- email -> card


async def email_phase(name: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    label, interval, topics = SCENARIOS[name]
    tag = secrets.token_hex(2)
    mails = [a_mail(tag, number, number % topics) for number in range(1, args.emails + 1)]
    folder = workdir / f"mail-{name}"
    folder.mkdir()
    for number, message in enumerate(mails, start=1):
        (folder / f"{number:05d}.eml").write_bytes(message.as_bytes())
    pace = 1.0 if interval is None else interval  # the product default is 1 s
    machine_before = machine_cpu()
    async with desk_parts(url, workdir, interval, args.mail_out) as parts:
        running, slack_api = parts.running, parts.slack_api
        watch = CardWatch(slack_api, tag)
        warm = a_mail(tag, 0, 0)
        await asyncio.to_thread(send_one, running.listener.port, warm)
        if not await watch.wait([0], within=30):
            raise RuntimeError("the warm-up card was not posted within 30 s")
        await slack_api.wait_for_async("chat.postMessage", count=2, within=30)  # and the thread message
        await asyncio.sleep(pace + 0.1)
        numbers = list(range(1, args.emails + 1))
        profile = cProfile.Profile() if args.profile and interval == 0 else None
        watch.scan()
        posts_before = dict(watch.posts)
        locks = LockWaits(running)
        cpu_before = thread_cpu()
        if profile is not None:
            profile.enable()
        print(f"  {label}: sending {args.emails} mails over {args.connections} connections ...", flush=True)
        delivery = await deliver(running.listener.port, folder, args.connections)
        within = 3 * args.emails * pace / topics * 2 + 120  # about three posts a ticket in its channel
        complete = await watch.wait(numbers, within=within)
        if profile is not None:
            profile.disable()
        cpu = cpu_delta(cpu_before, thread_cpu())
        lock_waits = locks.summary()
        locks.close()
        ids = [m["Message-ID"].strip("<>") for m in mails]
        handled = await handled_at(running, ids)
        outbox = await outbox_counts(running)
        calls = {m: len(slack_api.calls(m)) for m in ("chat.postMessage", "chat.update", "chat.postEphemeral")}
        invalid = len(slack_api.invalid)

    machine = machine_delta(machine_before)
    total, inbox, poster, send_ack = [], [], [], []
    per_channel: dict[str, int] = {}
    for number, message_id, (sent, acked) in zip(numbers, ids, delivery.times, strict=True):
        card = watch.cards.get(number)
        if sent is not None and acked is not None:
            send_ack.append((acked - sent) * 1000)
        if card is None or acked is None:
            continue
        per_channel[card.channel] = per_channel.get(card.channel, 0) + 1
        total.append((card.time - acked) * 1000)
        if message_id in handled:
            inbox.append((handled[message_id][0] - acked) * 1000)
            poster.append((card.time - handled[message_id][0]) * 1000)
    acked_times = [a for _s, a in delivery.times if a is not None]
    posts = {channel: count - posts_before.get(channel, 0) for channel, count in watch.posts.items()
             if count > posts_before.get(channel, 0)}
    card_times = [watch.cards[n].time for n in numbers if n in watch.cards]
    return {
        "label": label, "slack_channel_interval": pace, "channels": topics, "emails": args.emails,
        "complete": complete, "cards_found": len(total), "smtp_errors": len(delivery.errors),
        "email_to_card": stats(total), "inbox_250_to_committed": stats(inbox),
        "poster_committed_to_card": stats(poster), "smtp_send_to_250": stats(send_ack),
        "smtp_seconds": (max(acked_times) - delivery.started) if acked_times else None,
        "all_committed_seconds": (max(h for h, _t in handled.values()) - delivery.started) if handled else None,
        "all_cards_seconds": (max(card_times) - delivery.started) if card_times else None,
        "cards_per_channel": per_channel, "post_messages_per_channel": posts, "calls": calls,
        # the busiest channel's posts (cards, customer messages, routing notices) one `pace` apart
        "pacing_floor_all_posts_s": (max(posts.values(), default=1) - 1) * pace,
        "outbox_after": outbox, "invalid_payloads": invalid, "cpu_seconds": cpu, "sqlite_lock_waits": lock_waits,
        "machine": machine,
        "profile_top": top_of(profile, args.profile / "email-unpaced.prof") if profile is not None else None,
    }


# --------------------------------------------------------------------------------------------- report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def print_machine(machine: dict[str, float] | None, indent: str) -> None:
    if machine:
        print(f"{indent}the machine during this phase ({machine['wall_s']:.0f}s): this benchmark used "
              f"{machine['bench_cpu_s']:.1f} CPU s, other processes {machine['other_processes_cpu_s']:.1f} CPU s "
              f"({machine['other_processes_cores']:.2f} of {os.cpu_count()} cores)")


def print_lock_waits(waits: dict[str, dict[str, float]], when: str, indent: str = "  ") -> None:
    if not waits:
        return
    print(f"{indent}SQLite write-lock waits (BEGIN IMMEDIATE) {when}, ms:")
    for who, w in waits.items():
        print(f"{indent}  {who:36} n {w['n']:>5.0f}  p50 {w['p50_ms']:>7.1f}  p99 {w['p99_ms']:>7.1f}  "
              f"max {w['max_ms']:>7.1f}  total {w['total_s']:>6.2f}s")


def report(info: dict[str, Any]) -> None:
    for backend, result in info["backends"].items():
        print(f"\n== {backend} ({result['server']}) ==")
        clicks = result.get("clicks")
        if clicks:
            best, base, pooled = clicks["best"], clicks["best_baseline"], clicks["pooled"]
            n = clicks["clicks_per_round"]
            print(f"click ack, {n} concurrent signed requests, {len(clicks['rounds'])} rounds "
                  f"(client in another process, kept-alive connections)")
            print(f"  {'':44}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'x base p50':>12}{'x base p99':>12}")

            def row(name: str, s: dict[str, float], b: dict[str, float] | None) -> None:
                r50 = f"{s['p50_ms'] / b['p50_ms']:.1f}" if b else ""
                r99 = f"{s['p99_ms'] / b['p99_ms']:.1f}" if b else ""
                print(f"  {name:44}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}{r50:>12}{r99:>12}")

            row("baseline: trivial aiohttp POST, best round", base, None)
            row("baseline: GET /health (desk's server), pooled", pooled["baseline_health"], pooled["baseline_post"])
            row(f"clicks, best round ({clicks['best_round']})", best, base)
            for number, r in enumerate(clicks["rounds"], start=1):
                row(f"  clicks, round {number}", r["clicks"], r["baseline_post"])
            row(f"clicks, all rounds pooled ({pooled['clicks']['n']})", pooled["clicks"], pooled["baseline_post"])
            row("  open_thread clicks (ack only), pooled", pooled["clicks"]["open_thread"],
                pooled["baseline_post"])
            row("  assign_me clicks (ack, then work), pooled", pooled["clicks"]["assign_me"],
                pooled["baseline_post"])
            verdict = "met" if best["p99_ms"] < CLICK_TARGET_P99_MS else "NOT met"
            print(f"  target p99 < {CLICK_TARGET_P99_MS:.0f} ms: {verdict} in the best round "
                  f"({best['p99_ms']:.1f} ms); {clicks['rounds_meeting_target']} of {len(clicks['rounds'])} "
                  "rounds under it; pooled p99 "
                  f"{pooled['clicks']['p99_ms']:.1f} ms")
            print(f"  checks: statuses {best['statuses']}, {clicks['ephemerals']} ephemeral answers, "
                  f"{clicks['invalid_payloads']} invalid payloads at the stand-in; outbox {clicks['outbox_after']}")
            print(f"  CPU s in this process during the rounds: {clicks['cpu_seconds_during_rounds']}")
            print_machine(clicks.get("machine"), "  ")
            print("  where the time goes (after the rounds; not in the numbers above):")
            for name, s in clicks["breakdown"].items():
                print(f"    {name:42}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}   "
                      f"work done {s['background_done_after_s']:.2f}s after the last answer")
            print_lock_waits(clicks["sqlite_lock_waits_during_rounds"], "during the rounds")
        emails = result.get("emails", {})
        if emails:
            first = next(iter(emails.values()))
            print(f"\nemail -> card: {first['emails']} mails over {info['connections']} SMTP connections; "
                  "SMTP 250 (client) -> chat.postMessage of the card (stand-in); in seconds")
            print(f"  {'':54}{'p50':>8}{'p99':>8}{'max':>8}{'inbox p50/p99':>16}{'poster p50/p99':>17}")
            for e in emails.values():
                t, i, p = e["email_to_card"], e["inbox_250_to_committed"], e["poster_committed_to_card"]
                if not t.get("n"):
                    print(f"  {e['label']:54}  no cards found")
                    continue
                print(f"  {e['label']:54}{t['p50_ms'] / 1000:>8.2f}{t['p99_ms'] / 1000:>8.2f}"
                      f"{t['max_ms'] / 1000:>8.2f}{i['p50_ms'] / 1000:>8.2f}/{i['p99_ms'] / 1000:<7.2f}"
                      f"{p['p50_ms'] / 1000:>8.2f}/{p['p99_ms'] / 1000:<8.2f}")
            for e in emails.values():
                verdict = "met" if e["email_to_card"].get("p99_ms", 1e18) < EMAIL_TARGET_P99_MS else "NOT met"
                missing = "" if e["complete"] else f" ({e['emails'] - e['cards_found']} cards never came)"
                print(f"  {e['label']}: target p99 < {EMAIL_TARGET_P99_MS:.0f} ms {verdict}{missing}; SMTP done "
                      f"{e['smtp_seconds']:.1f}s, all committed {e['all_committed_seconds']:.1f}s, all cards "
                      f"{e['all_cards_seconds']:.1f}s after the first send; the busiest channel's posts at the "
                      f"pace take {e['pacing_floor_all_posts_s']:.0f}s; chat.postMessage per channel "
                      f"{e['post_messages_per_channel']}")
                print(f"      CPU s: {e['cpu_seconds']}")
                print_machine(e.get("machine"), "      ")
                print_lock_waits(e["sqlite_lock_waits"], "during the burst", indent="    ")
    for name, note in info.get("skipped", {}).items():
        print(f"{name}: skipped ({note})")


# --------------------------------------------------------------------------------------------- main


async def run_backend(backend: str, url_for: Any, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """`url_for(phase)` is an async context manager yielding (url, server) of a fresh database."""
    result: dict[str, Any] = {"emails": {}}
    if args.clicks > 0 and args.rounds > 0:
        print(f"{backend}: clicks ...", flush=True)
        async with url_for("clicks") as (url, server):
            result["server"] = server
            result["clicks"] = await click_phase(url, workdir / f"{backend}-clicks", args)
    for name in args.scenarios:
        print(f"{backend}: email -> card, {name} ...", flush=True)
        async with url_for(name) as (url, server):
            result["server"] = server
            result["emails"][name] = await email_phase(name, url, workdir / f"{backend}-{name}", args)
        e = result["emails"][name]["email_to_card"]
        if e.get("n"):
            print(f"    p50 {e['p50_ms'] / 1000:.2f}s p99 {e['p99_ms'] / 1000:.2f}s max {e['max_ms'] / 1000:.2f}s",
                  flush=True)
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    info: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "sqlite": sqlite3.sqlite_version, "load_average_at_start": list(os.getloadavg())},
        "clicks": args.clicks, "rounds": args.rounds, "emails": args.emails, "connections": args.connections,
        "mail_out": args.mail_out, "scenarios": args.scenarios,
        "targets": {"click_p99_ms": CLICK_TARGET_P99_MS, "email_to_card_p99_ms": EMAIL_TARGET_P99_MS},
        "backends": {}, "skipped": {},
    }
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wedsync-bench-slack-") as temp:
        workdir = Path(temp)

        @contextlib.asynccontextmanager
        async def sqlite_url(phase: str) -> AsyncIterator[tuple[str, str]]:
            (workdir / f"sqlite-{phase}").mkdir(exist_ok=True)
            yield f"sqlite+aiosqlite:///{workdir / f'sqlite-{phase}' / 'desk.db'}", f"SQLite {sqlite3.sqlite_version}"

        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite":
                url_for: Any = sqlite_url
            else:
                if args.postgres is None:
                    continue
                problem = await postgres_reachable(args.postgres)
                if problem is not None:
                    info["skipped"]["postgresql"] = f"{args.postgres} unreachable: {problem}"
                    continue

                def url_for(_phase: str) -> Any:
                    return fresh_postgres(args.postgres)

            for phase in ("clicks", *args.scenarios):
                (workdir / f"{backend}-{phase}").mkdir(exist_ok=True)
            info["backends"][backend] = await run_backend(backend, url_for, args, workdir)
    info["verdicts"] = verdicts(info)
    return info


def verdicts(info: dict[str, Any]) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for backend, result in info["backends"].items():
        found: dict[str, bool] = {}
        clicks = result.get("clicks")
        if clicks:
            found["click_p99_best_round"] = clicks["best"]["p99_ms"] < CLICK_TARGET_P99_MS
            found["click_p99_pooled"] = clicks["pooled"]["clicks"]["p99_ms"] < CLICK_TARGET_P99_MS
        for name, e in result.get("emails", {}).items():
            found[f"email_to_card_p99_{name}"] = bool(e["complete"]) and (
                e["email_to_card"].get("p99_ms", float("inf")) < EMAIL_TARGET_P99_MS)
        out[backend] = found
    return out


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["click-client"]:
        client = argparse.ArgumentParser(prog="python -m bench.bench_slack click-client")
        client.add_argument("--secret", default=SIGNING_SECRET)
        asyncio.run(click_client(client.parse_args(argv[1:]).secret))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.bench_slack", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=50, help="concurrent clicks a round (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="click rounds (default 5)")
    parser.add_argument("--emails", type=int, default=200, help="mails in the burst (default 200)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent SMTP connections (default 8)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                        help=f"email scenarios, comma-separated (default {','.join(SCENARIOS)}; '' for none)")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None,
                        help=f"also run on a fresh database on this PostgreSQL server (default {DEFAULT_POSTGRES})")
    parser.add_argument("--no-mail-out", dest="mail_out", action="store_false",
                        help="no SMTP sink: confirmations wait in the outbox (default: the mailer sends them)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write cProfile files of the desk's thread (timed clicks, unpaced burst) to this folder")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON report (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    info = asyncio.run(main_async(args))
    report(info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(info, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
