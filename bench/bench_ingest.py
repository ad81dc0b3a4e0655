"""Ingestion benchmark: end-to-end emails per second against the parse-only rate of the same messages.

    .venv/bin/python -m bench.bench_ingest [--count 1000] [--postgres URL | --no-postgres] [--connections 8]

One run, one corpus (``bench.corpus``, seeded), and in it:

* **parse-only**: ``parse_email`` over every message, ``--passes`` passes before the desk runs and two after
  each backend's run (on a shared machine speed drifts; the baseline covers the same stretch of time as the
  runs); the median pass is the baseline, messages/s;
* **end to end** on SQLite (a fresh file in a temporary folder) and on PostgreSQL (a fresh database created
  on the server of ``--postgres``, dropped afterwards; skipped with a note when the server is unreachable):
  the desk runs in this process (``bot.serve.start``: SMTP listener, inbox worker; no mailer, so outbox rows
  wait), a client in another process (``bench.smtp_client``) sends every message over ``--connections``
  SMTP connections at once, and the clock runs from the first send to the last ``handled_at`` (no
  ``pending`` row left): SMTP -> stored -> parsed -> threaded -> ticket and outbox rows committed;
* **the ratio** end-to-end / parse-only per backend, and whether SQLite meets the target (0.6);
* **latency**: then a burst of ``--burst`` (200) more messages sent as fast as the connections go; for each,
  the desk's ``handled_at`` minus the client's ``datetime.now(UTC)`` when ``sendmail`` returned (the 250
  after DATA). Both are wall-clock UTC on one machine (``SystemClock`` is ``datetime.now(UTC)``), so the
  difference is meaningful; p50 / p99 / max in ms;
* a correctness check: processed + ignored + quarantined equals the number of messages sent, the breakdown
  printed.

The settings raise ``SENDER_RATE_PER_HOUR`` to 10**9 (the corpus keeps every sender under 20 mails anyway)
and point ``SUPPORT_CONFIG`` at a file that does not exist, so the desk runs on its built-in defaults (pass
``--support-config support.example.yml`` for teams and agents). Numbers go to the terminal and to
``bench/out/ingest.json``. Nothing here asserts a time: it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import platform
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.corpus import DEFAULT_SEED, CorpusMail, describe, generate, write
from bot.serve import Running, start
from bot.settings import Settings
from channels.email.parse import parse_email
from db import mail as mail_store
from db.tables import InboundEmailRow, OutboxRow, TicketRow

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out" / "ingest.json"
TARGET = 0.6
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
HANDLED = ("processed", "ignored", "quarantined")
TICKET_ID = re.compile(r"\b[A-Z]{2,3}-[0-9A-Z]{6,10}-[0-9A-Z]{3}\b")


# --------------------------------------------------------------------------------------------- parse-only


def parse_pass(corpus: Sequence[CorpusMail]) -> float:
    """Seconds for one pass of parse_email over the corpus."""
    started = time.perf_counter()
    for mail in corpus:
        parse_email(mail.raw)
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------- end to end


@dataclass
class Delivery:
    """What the client process reports: when the first send began, and each message's send and 250 times."""

    started: float
    times: list[tuple[float | None, float | None]]
    errors: dict[str, str]

    @property
    def acked(self) -> list[float]:
        return [ack for _sent, ack in self.times if ack is not None]

    def ack_ms(self) -> dict[str, float]:
        """SMTP send -> 250 (the store's commit included), per message."""
        waits = [(ack - sent) * 1000 for sent, ack in self.times if sent is not None and ack is not None]
        return {"p50_ms": percentile(waits, 0.5), "p99_ms": percentile(waits, 0.99), "max_ms": max(waits)}


@dataclass
class BackendResult:
    backend: str
    server: str
    messages: int
    seconds: float = 0.0
    smtp_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    tickets: int = 0
    outbox: int = 0
    smtp_errors: int = 0
    smtp_ack: dict[str, float] = field(default_factory=dict)
    burst: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def handled(self) -> int:
        return sum(self.statuses.get(s, 0) for s in HANDLED)


async def deliver(port: int, folder: Path, connections: int) -> Delivery:
    """Send every .eml in `folder` from a client process; returns its timings."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.smtp_client", "--port", str(port), "--dir", str(folder),
        "--connections", str(connections),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    assert process.stdin is not None and process.stdout is not None
    ready = await process.stdout.readline()
    if ready.strip() != b"ready":
        raise RuntimeError(f"the SMTP client did not start: {ready!r}")
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the SMTP client failed with exit status {process.returncode}")
    data = json.loads(output)
    return Delivery(data["started"], [(s, a) for s, a in data["times"]], data["errors"])


async def wait_handled(running: Running, expected: int, stall_seconds: float = 120.0) -> dict[str, int]:
    """Poll count_by_status until `expected` rows exist and none is pending."""
    last, last_change = -1, time.monotonic()
    while True:
        async with running.desk.db.sessions() as session:
            counts = await mail_store.count_by_status(session)
        done = sum(counts.get(s, 0) for s in HANDLED)
        if sum(counts.values()) >= expected and counts.get("pending", 0) == 0:
            return counts
        if done != last:
            last, last_change = done, time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            raise RuntimeError(f"no progress for {stall_seconds:.0f}s: {counts}")
        await asyncio.sleep(0.1)


async def last_handled_at(running: Running) -> float:
    async with running.desk.db.sessions() as session:
        moment = (await session.execute(select(func.max(InboundEmailRow.handled_at)))).scalar_one()
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC).timestamp()


async def handled_times(running: Running, message_ids: Sequence[str]) -> dict[str, tuple[float, float]]:
    """message id -> (received_at, handled_at) as wall-clock seconds."""
    out: dict[str, tuple[float, float]] = {}
    async with running.desk.db.sessions() as session:
        for start_at in range(0, len(message_ids), 500):
            chunk = list(message_ids[start_at : start_at + 500])
            rows = await session.execute(
                select(InboundEmailRow.message_id, InboundEmailRow.received_at, InboundEmailRow.handled_at)
                .where(InboundEmailRow.message_id.in_(chunk))
            )
            for message_id, received, handled in rows:
                if handled is not None:
                    out[message_id] = (received.timestamp(), handled.timestamp())
    return out


async def reasons_and_counts(running: Running) -> tuple[dict[str, int], int, int]:
    """How the messages were handled (reasons, ticket ids masked), tickets made, outbox rows written."""
    async with running.desk.db.sessions() as session:
        rows = await session.execute(
            select(InboundEmailRow.status, InboundEmailRow.reason, func.count()).group_by(
                InboundEmailRow.status, InboundEmailRow.reason
            )
        )
        reasons: dict[str, int] = {}
        for status, reason, count in rows:
            key = f"{status}: {TICKET_ID.sub('<ticket>', reason or '')}"
            reasons[key] = reasons.get(key, 0) + int(count)
        tickets = int((await session.execute(select(func.count()).select_from(TicketRow))).scalar_one())
        outbox = int((await session.execute(select(func.count()).select_from(OutboxRow))).scalar_one())
    return dict(sorted(reasons.items(), key=lambda kv: -kv[1])), tickets, outbox


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def desk_settings(url: str, args: argparse.Namespace, workdir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        smtp_listen_host="127.0.0.1",
        smtp_listen_port=0, http_port=0,
        sender_rate_per_hour=10**9,
        support_config=args.support_config or workdir / "no-such-support.yml",
        # Nothing outside this machine: no IMAP, no mail out, no Slack, SMS or model classifier, whatever the
        # environment says (unknown names are ignored by the settings, so older and newer desks both accept this).
        imap_host=None,
        smtp_host=None,
        slack_bot_token=None,
        slack_app_token=None,
        twilio_account_sid=None,
        openai_api_key=None,
    )


async def run_backend(backend: str, url: str, server: str, corpus: Sequence[CorpusMail], corpus_dir: Path,
                      burst: Sequence[CorpusMail], burst_dir: Path, args: argparse.Namespace,
                      workdir: Path) -> BackendResult:
    settings = desk_settings(url, args, workdir)
    result = BackendResult(backend, server, len(corpus))
    running = await start(settings, say=lambda _line: None)
    profiler = cProfile.Profile() if args.profile and backend == "sqlite" else None
    try:
        port = running.listener.port
        print(f"  {backend}: sending {len(corpus)} messages over {args.connections} connections ...", flush=True)
        if profiler is not None:
            profiler.enable()
        delivery = await deliver(port, corpus_dir, args.connections)
        counts = await wait_handled(running, len(delivery.acked))  # a message refused by SMTP is not stored
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            print(f"  cProfile of the desk's thread written to {args.profile}")
        finished = await last_handled_at(running)
        result.seconds = finished - delivery.started
        result.smtp_seconds = max(delivery.acked) - delivery.started
        result.statuses = counts
        result.smtp_errors = len(delivery.errors)
        result.smtp_ack = delivery.ack_ms()
        result.reasons, result.tickets, result.outbox = await reasons_and_counts(running)

        print(f"  {backend}: burst of {len(burst)} ...", flush=True)
        burst_delivery = await deliver(port, burst_dir, args.connections)
        await wait_handled(running, len(delivery.acked) + len(burst_delivery.acked))
        ids = [mail.message_id.strip("<>") for mail in burst]
        stored = await handled_times(running, ids)
        latencies, queueing, whole = [], [], []
        for message_id, (sent, acked) in zip(ids, burst_delivery.times, strict=True):
            if sent is None or acked is None or message_id not in stored:
                continue
            received, handled = stored[message_id]
            latencies.append((handled - acked) * 1000)
            queueing.append((handled - received) * 1000)
            whole.append((handled - sent) * 1000)
        burst_end = max(h for _r, h in stored.values())
        result.burst = {
            "messages": len(latencies),
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies),
            "min_ms": min(latencies),
            "received_to_handled_p50_ms": percentile(queueing, 0.50),
            "send_to_handled_p50_ms": percentile(whole, 0.50),
            "send_to_handled_p99_ms": percentile(whole, 0.99),
            "smtp_seconds": max(burst_delivery.acked) - burst_delivery.started,
            "seconds": burst_end - burst_delivery.started,
            "smtp_errors": len(burst_delivery.errors),
        }
    finally:
        await running.stop()
    return result


async def intake_only(url: str, corpus_dir: Path, count: int, args: argparse.Namespace, workdir: Path) -> float:
    """The ceiling set by intake alone: SMTP -> raw message committed -> 250, with the inbox worker stopped
    (nothing parsed or threaded). Messages/s from the first send to the last 250."""
    running = await start(desk_settings(url, args, workdir), say=lambda _line: None)
    running.inbox.stop()
    try:
        delivery = await deliver(running.listener.port, corpus_dir, args.connections)
    finally:
        await running.stop()
    return count / (max(delivery.acked) - delivery.started)


# --------------------------------------------------------------------------------------------- PostgreSQL


@contextlib.asynccontextmanager
async def fresh_postgres(admin_url: str) -> Any:
    """Yields (sqlalchemy url, server version) of a new database on admin_url's server; drops it after."""
    name = f"wedsync_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url, timeout=5)
    try:
        version = await admin.fetchval("SHOW server_version")
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False), f"PostgreSQL {version}"
    finally:
        admin = await asyncpg.connect(admin_url, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def postgres_reachable(admin_url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        connection = await asyncpg.connect(admin_url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


# --------------------------------------------------------------------------------------------- report


def report(info: dict[str, Any]) -> None:
    parse = info["parse_only"]
    rows = [("parse-only (baseline)", parse["rate"], 1.0, "", "")]
    for name, result in info["end_to_end"].items():
        burst = result["burst"]
        rows.append((f"end to end, {name}", result["rate"], result["ratio"],
                     f"{burst['p50_ms']:.0f}", f"{burst['p99_ms']:.0f}"))
    print()
    print(f"{'':28}{'msg/s':>10}{'x parse':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for label, rate, ratio, p50, p99 in rows:
        print(f"{label:28}{rate:>10.1f}{ratio:>10.2f}{p50:>10}{p99:>10}")
    intake = info.get("intake_only_sqlite")
    if intake:
        print(f"{'intake only, sqlite':28}{intake:>10.1f}{intake / parse['rate']:>10.2f}"
              "    (SMTP -> raw committed -> 250; nothing parsed: a ceiling for end to end)")
    for name, note in info.get("skipped", {}).items():
        print(f"{'end to end, ' + name:28}{'skipped':>10}  ({note})")
    sqlite = info["end_to_end"].get("sqlite")
    if sqlite:
        verdict = "met" if sqlite["ratio"] >= TARGET else "NOT met"
        print(f"\ntarget: end to end on SQLite >= {TARGET} x parse-only: {verdict} ({sqlite['ratio']:.2f}; the target "
              f"is {TARGET * parse['rate']:.0f} msg/s end to end, {1000 / (TARGET * parse['rate']):.2f} ms a message)")
    print(f"latency = desk handled_at - client 250 after DATA, burst of {info['burst_size']} "
          f"over {info['connections']} connections")


def print_backend(result: BackendResult) -> None:
    ok = result.handled == result.messages and sum(result.statuses.values()) == result.messages
    ack = result.smtp_ack
    print(f"  {result.backend}: {result.messages} messages in {result.seconds:.2f}s = {result.rate:.1f}/s "
          f"(SMTP: all 250s after {result.smtp_seconds:.2f}s = {result.messages / result.smtp_seconds:.0f}/s; "
          f"send -> 250 p50 {ack['p50_ms']:.0f} ms, p99 {ack['p99_ms']:.0f} ms, max {ack['max_ms']:.0f} ms)")
    print(f"    handled {result.handled} of {result.messages}: {result.statuses} -> "
          f"{'OK' if ok else 'MISMATCH'}; {result.tickets} tickets, {result.outbox} outbox rows, "
          f"{result.smtp_errors} SMTP errors")
    for reason, count in result.reasons.items():
        print(f"      {count:5d}  {reason}")
    burst = result.burst
    print(f"    burst: {burst['messages']:.0f} messages, SMTP done {burst['smtp_seconds']:.2f}s, all handled "
          f"{burst['seconds']:.2f}s; 250 -> committed p50 {burst['p50_ms']:.0f} ms, p99 {burst['p99_ms']:.0f} ms, "
          f"max {burst['max_ms']:.0f} ms")
    print(f"           stored -> committed p50 {burst['received_to_handled_p50_ms']:.0f} ms; client's first "
          f"command -> committed (includes waiting for the 250) p50 {burst['send_to_handled_p50_ms']:.0f} ms, "
          f"p99 {burst['send_to_handled_p99_ms']:.0f} ms")


# --------------------------------------------------------------------------------------------- main


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    print(f"corpus: {args.count} messages, seed {args.seed}; burst: {args.burst} messages, seed {args.seed + 1}")
    corpus = generate(args.count, args.seed)
    burst = generate(args.burst, args.seed + 1)
    corpus_info = describe(corpus)
    print(f"  {corpus_info['bytes_total']:,} bytes, median {corpus_info['bytes_median']:,}, kinds "
          f"{corpus_info['kinds']}, {corpus_info['senders']} senders (max {corpus_info['max_per_sender']} each)")
    print(f"  {corpus_info['features']}")

    print(f"parse-only: {args.passes} passes ...", flush=True)
    parse_pass(corpus[: min(50, len(corpus))])  # imports, regex compilation, caches
    passes = [parse_pass(corpus) for _ in range(args.passes)]
    print(f"  median {len(corpus) / statistics.median(passes):.1f} msg/s", flush=True)

    info: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "sqlite": sqlite3.sqlite_version, "load_average_at_start": list(os.getloadavg())},
        "count": args.count, "seed": args.seed, "burst_size": args.burst, "connections": args.connections,
        "corpus": corpus_info, "end_to_end": {}, "skipped": {}, "target": TARGET,
    }
    results: list[BackendResult] = []
    with tempfile.TemporaryDirectory(prefix="wedsync-bench-") as temp:
        workdir = Path(temp)
        corpus_dir, burst_dir = workdir / "corpus", workdir / "burst"
        write(corpus, corpus_dir)
        write(burst, burst_dir)
        backends: list[tuple[str, Any]] = [("sqlite", None)]
        if not args.no_postgres:
            problem = await postgres_reachable(args.postgres)
            if problem is None:
                backends.append(("postgresql", fresh_postgres(args.postgres)))
            else:
                info["skipped"]["postgresql"] = f"{args.postgres} unreachable: {problem}"
                print(f"PostgreSQL skipped: {args.postgres} unreachable ({problem})")
        else:
            info["skipped"]["postgresql"] = "--no-postgres"
        print("intake only on sqlite (the inbox worker stopped) ...", flush=True)
        info["intake_only_sqlite"] = await intake_only(f"sqlite+aiosqlite:///{workdir / 'intake.db'}", corpus_dir,
                                                       len(corpus), args, workdir)
        print(f"  {info['intake_only_sqlite']:.1f} msg/s", flush=True)
        for backend, database in backends:
            print(f"end to end on {backend} ...", flush=True)
            if database is None:
                url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
                result = await run_backend(backend, url, f"SQLite {sqlite3.sqlite_version}", corpus, corpus_dir,
                                           burst, burst_dir, args, workdir)
            else:
                async with database as (url, server):
                    result = await run_backend(backend, url, server, corpus, corpus_dir, burst, burst_dir, args,
                                               workdir)
            print_backend(result)
            results.append(result)
            # More baseline passes between and after the runs: on a shared machine the speed drifts, and the
            # baseline should cover the same stretch of time as the runs it is compared with.
            passes += [parse_pass(corpus) for _ in range(2)]

    median = statistics.median(passes)
    parse = {"passes_s": passes, "median_s": median, "rate": len(corpus) / median,
             "slowest_rate": len(corpus) / max(passes), "fastest_rate": len(corpus) / min(passes),
             "per_message_ms": median / len(corpus) * 1000}
    print(f"parse-only baseline: median of {len(passes)} passes {parse['rate']:.1f} msg/s "
          f"({parse['per_message_ms']:.2f} ms each; passes ranged {parse['slowest_rate']:.0f}.."
          f"{parse['fastest_rate']:.0f} msg/s)")
    info["parse_only"] = parse
    for result in results:
        info["end_to_end"][result.backend] = {
            "server": result.server, "messages": result.messages, "seconds": result.seconds,
            "rate": result.rate, "ratio": result.rate / parse["rate"], "smtp_seconds": result.smtp_seconds,
            "statuses": result.statuses, "handled": result.handled, "reasons": result.reasons,
            "tickets": result.tickets, "outbox_rows": result.outbox, "smtp_errors": result.smtp_errors,
            "smtp_send_to_250": result.smtp_ack, "burst": result.burst,
        }
    return info


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="messages in the corpus (default 1000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--burst", type=int, default=200, help="messages in the latency burst (default 200)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent SMTP connections (default 8)")
    parser.add_argument("--passes", type=int, default=5, help="parse-only passes (default 5; the median counts)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help=f"an admin URL of the PostgreSQL server to create the database on ({DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--support-config", type=Path, default=None,
                        help="a support.yml for the desk (default: none, the built-in defaults)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the desk's event-loop thread during the SQLite run to this file")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON report (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    # The desk's own log (warnings and errors) goes to a file next to the JSON, not into the report.
    log_path = args.out.parent / "ingest.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=log_path, filemode="w", level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    info = asyncio.run(main_async(args))
    logging.shutdown()
    lines = log_path.read_text(errors="replace").splitlines()
    info["desk_log"] = {"path": str(log_path), "warnings": sum(" WARNING " in line for line in lines),
                        "errors": sum(" ERROR " in line or " CRITICAL " in line for line in lines)}
    report(info)
    print(f"desk log: {info['desk_log']['warnings']} warnings, {info['desk_log']['errors']} errors in {log_path}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(info, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
