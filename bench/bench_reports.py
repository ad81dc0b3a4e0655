"""The reports' time on SQLite with many tickets: the dashboard's data (7/30/90 days) and the daily report.

    .venv/bin/python -m bench.bench_reports [--sizes 10000,30000,100000] [--runs 20]

Each size is a SQLite file under bench/out/ (seeded once, then reused: delete it to seed again) through the
real migrations, with N tickets over the year before "now" and 10 messages a ticket (1,000,000 at 100,000),
bulk-inserted with the stdlib sqlite3 module in one transaction. About 2% of the tickets are still open, 8% were
reopened, 3% merged, 10% deflected, 5% imported; 30% are rated.

The baseline, measured in the same run on the same file, is `SELECT count(*)` over the tickets and over the
messages. "before" is the dashboard as built until issue 10's SQL aggregation (every ticket's facts of the
period and the one before, `load_facts`, through the pure builder, with the trends of `load_trends`), timed in
the same rounds; its result must equal the dashboard's (checked in the warm-up round). Targets (issue 10): the
dashboard's data p95 < 300 ms, the daily report < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from db import reports as report_store
from db.migrate import upgrade
from db.session import open_database
from ticketing import reports
from ticketing.calendar import Calendar

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OUT = Path(__file__).parent / "out"
SEED_VERSION = "1"
SEED_REVISION = "0010"  # the schema the rows below are written for; later migrations backfill their columns
CATEGORIES = ("billing", "bug", "form_builder", "feature_help", "onboarding", "integration", "performance", "refund")
TEAMS = {"billing": "billing_team", "refund": "billing_team", "bug": "technical_team",
         "form_builder": "technical_team", "performance": "technical_team", "integration": "technical_team",
         "feature_help": "customer_success", "onboarding": "customer_success"}
AGENTS = ("UBILLAGNT1", "UBILLSEN01", "UTECHAGNT1", "UTECHAGNT2", "USUCCESS01", None)
PRIORITIES = ("critical", "high", "medium", "low")
CALENDARS = {"billing_team": Calendar.weekly("Europe/London", datetime.min.time().replace(hour=9),
                                             datetime.min.time().replace(hour=17))}


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _clock(kind: str, budget: int, created: datetime, used: float, stopped: datetime | None) -> dict[str, object]:
    return {"kind": kind, "budget": budget, "started_at": created.isoformat(), "used": used,
            "since": None if stopped else created.isoformat(), "stopped_at": stopped.isoformat() if stopped else None}


def _ticket(n: int, rng: random.Random) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], str | None]:
    created = NOW - timedelta(seconds=rng.randrange(365 * 86400))
    category = rng.choice(CATEGORIES)
    is_open = rng.random() < 0.02 or created > NOW - timedelta(hours=6)
    first = created + timedelta(minutes=rng.expovariate(1 / 40))
    resolved = None if is_open else first + timedelta(minutes=rng.expovariate(1 / 400))
    if resolved is not None and resolved > NOW:
        resolved, is_open = None, True
    first_at = first if first < NOW else None
    extra: dict[str, object] = {}
    if rng.random() < 0.08:
        extra["reopened"] = 1
    if rng.random() < 0.10:
        extra["deflected"] = True
    if rng.random() < 0.05:
        extra["imported"] = True
    state = {"clocks": [
        _clock("first_response", 240, created, (first - created).total_seconds() / 60, first_at),
        _clock("resolution", 1440, created, ((resolved or NOW) - created).total_seconds() / 60 * 0.8, resolved)],
        "fired": [], "follow_up_at": None, "follow_up_level": 0, "follow_up_budget": 0.0}
    ticket_id = f"BEN-{n:08d}-AAA"
    status = rng.choice(("open", "in_progress", "waiting_customer")) if is_open else "resolved"
    row = (ticket_id, "bench-customer", "supplier", rng.choice(("free", "starter", "professional")),
           f"Question {n}", "How do I change my logo?", "question", category, rng.choice(PRIORITIES), status,
           TEAMS[category], rng.choice(AGENTS), _when(created), _when(resolved or first_at or created),
           _when(first_at) if first_at else None, _when(resolved) if resolved else None, 240, 1440,
           _when(created + timedelta(hours=4)), _when(created + timedelta(days=1)), int(rng.random() < 0.04),
           int(rng.random() < 0.06), rng.choice((None, None, 4, 5, 3)) if resolved else None,
           json.dumps({"category": category, "type": "question", "tags": [], "template": None, "confidence": 1.0,
                       "reason": "bench", "source": "pattern"}), "[]",
           json.dumps(rng.sample(("stripe", "csv", "mobile", "calendar"), rng.randrange(2))),
           json.dumps({"source": "email", "previous_tickets": 0, "extra": extra}), json.dumps(state))
    messages = [(f"{ticket_id}-m{k}", ticket_id, k + 1, "customer" if k % 2 == 0 else "agent", "public",
                 "someone@example.com", "Thanks, here is more detail about the problem.", "[]",
                 _when(created + timedelta(minutes=10 * k)), "[]") for k in range(10)]
    merged = f"BEN-{n - 1:08d}-AAA" if n and rng.random() < 0.03 else None
    return row, messages, merged


TICKET_COLUMNS = ("id, user_id, user_type, user_tier, subject, description, type, category, priority, status, team, "
                  "assigned_to, created_at, updated_at, first_response_at, resolved_at, sla_first_response, "
                  "sla_resolution, sla_first_response_due, sla_resolution_due, sla_breach, escalation_level, "
                  "satisfaction_rating, classification, attachments, tags, metadata, sla_state")
MESSAGE_COLUMNS = "id, ticket_id, seq, type, visibility, sender_id, message, attachments, created_at, edit_history"


async def seeded(size: int) -> Path:
    """bench/out/reports-N.db, made (migrated, then bulk-filled) unless it is there from an earlier run."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"reports-{size}.db"
    if path.exists():
        with sqlite3.connect(path) as check:
            mark = check.execute("SELECT value FROM app_settings WHERE key = 'bench_reports'").fetchone()
        if mark == (f"{SEED_VERSION}:{size}",):
            database = open_database(f"sqlite+aiosqlite:///{path}")
            await upgrade(database)  # a file seeded at an older schema gets the newer migrations (and backfills)
            await database.close()
            return path
        path.unlink()
    database = open_database(f"sqlite+aiosqlite:///{path}")
    await upgrade(database, SEED_REVISION)
    await database.close()
    started = time.perf_counter()
    rng = random.Random(size)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    connection.execute("INSERT INTO customers (id, email, name, user_type, tier, language, undeliverable, created_at) "
                       "VALUES ('bench-customer', 'bench@example.com', '', 'supplier', 'free', 'en', 0, ?)",
                       (_when(NOW),))
    for start in range(0, size, 5000):
        batch = [_ticket(n, rng) for n in range(start, min(size, start + 5000))]
        connection.executemany(f"INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ({', '.join('?' * 28)})",
                               [row for row, _, _ in batch])
        connection.executemany(f"INSERT INTO ticket_messages ({MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 10)})",
                               [m for _, messages, _ in batch for m in messages])
        links = [(row[0], merged) for row, _, merged in batch if merged]
        connection.executemany("INSERT INTO ticket_links (ticket_id, related_id, kind, created_at) "
                               f"VALUES (?, ?, 'merged_into', '{_when(NOW)}')", links)
    connection.execute("INSERT INTO app_settings (key, value) VALUES ('bench_reports', ?)", (f"{SEED_VERSION}:{size}",))
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()
    database = open_database(f"sqlite+aiosqlite:///{path}")
    await upgrade(database)  # the later migrations fill what they derive from the seeded columns
    await database.close()
    print(f"seeded {size} tickets, {size * 10} messages into {path} in {time.perf_counter() - started:.0f} s")
    return path


async def dashboard_before(session: Any, days: int) -> reports.Dashboard:
    """The dashboard's data as db.reports built it before the database did the counting (commit 1c56520)."""
    window = reports.summary_window(NOW, days)
    facts = await report_store.load_facts(session, since=window.start, until=NOW)
    trends = await report_store.load_trends(session, NOW)
    return reports.build_dashboard(facts, NOW, days, None, CALENDARS, trends=trends)


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(path: Path, runs: int) -> dict[str, float]:
    database = open_database(f"sqlite+aiosqlite:///{path}")
    results: dict[str, float] = {}
    try:
        names = ("baseline", "daily_30", *(f"dashboard_{d}" for d in (7, 30, 90)),
                 *(f"before_{d}" for d in (7, 30, 90)))
        timings: dict[str, list[float]] = {name: [] for name in names}
        cpu_timings: dict[str, list[float]] = {name: [] for name in names}
        for run in range(runs + 1):  # the first round warms the caches and is not counted
            async with database.sessions() as session:
                started, cpu = time.perf_counter(), time.process_time()
                await session.execute(text("SELECT count(*) FROM tickets"))
                await session.execute(text("SELECT count(*) FROM ticket_messages"))
                took = {"baseline": (time.perf_counter() - started, time.process_time() - cpu)}
                for days in (7, 30, 90):
                    started, cpu = time.perf_counter(), time.process_time()
                    board = await report_store.build_dashboard(session, now=NOW, days=days, calendars=CALENDARS)
                    took[f"dashboard_{days}"] = (time.perf_counter() - started, time.process_time() - cpu)
                    started, cpu = time.perf_counter(), time.process_time()
                    before = await dashboard_before(session, days)
                    took[f"before_{days}"] = (time.perf_counter() - started, time.process_time() - cpu)
                    if not run and board != before:
                        raise SystemExit(f"the dashboard of {days} days differs from the one built before")
                started, cpu = time.perf_counter(), time.process_time()
                await report_store.daily_report(session, now=NOW, days=30, calendars=CALENDARS)
                took["daily_30"] = (time.perf_counter() - started, time.process_time() - cpu)
            if run:
                for name, (seconds, cpu_seconds) in took.items():
                    timings[name].append(seconds * 1000)
                    cpu_timings[name].append(cpu_seconds * 1000)
        for name, values in timings.items():
            results[f"{name}_p50"] = statistics.median(values)
            results[f"{name}_p95"] = _p(values, 0.95)
            results[f"{name}_cpu_p50"] = statistics.median(cpu_timings[name])
    finally:
        await database.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: await measure(await seeded(size), args.runs) for size in sizes}
    print(f"SQLite, {args.runs} runs each (p50 / p95 ms); baseline = SELECT count(*) over tickets and messages")
    columns = ("baseline", "dashboard_7", "dashboard_30", "dashboard_90", "before_7", "before_30", "before_90",
               "daily_30")
    print(f"{'tickets':>8} {'baseline':>15} {'dash 7d':>15} {'dash 30d':>15} {'dash 90d':>15} {'before 7d':>15} "
          f"{'before 30d':>15} {'before 90d':>15} {'daily 30d':>15} {'90d x base':>10}")
    for size, r in results.items():
        cells = [f"{r[f'{n}_p50']:6.1f} /{r[f'{n}_p95']:6.1f}" for n in columns]
        print(f"{size:8d} {' '.join(f'{c:>15}' for c in cells)} {r['dashboard_90_p50'] / r['baseline_p50']:10.1f}")
    print("process CPU time, p50 ms (what this process itself spent: less bent by a busy machine than wall time)")
    for size, r in results.items():
        cells = [f"{r[n + '_cpu_p50']:15.1f}" for n in columns]
        print(f"{size:8d} {' '.join(cells)}")
    for size, r in results.items():
        ratios = [f"{d} d {r[f'before_{d}_p50'] / r[f'dashboard_{d}_p50']:.1f}x" for d in (7, 30, 90)]
        print(f"{size:8d} tickets: before / now (p50 wall): {', '.join(ratios)}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    first, last = sizes[0], sizes[-1]
    for name in ("baseline", "dashboard_90", "daily_30"):
        growth = results[last][f"{name}_p50"] / results[first][f"{name}_p50"]
        print(f"growth {first} -> {last} tickets ({last / first:.0f}x): {name} {growth:.1f}x")
    worst = max(results[last][f"dashboard_{d}_p95"] for d in (7, 30, 90))
    print(f"target dashboard data p95 < 300 ms at {last}: {worst:.0f} ms, {'met' if worst < 300 else 'NOT met'}; "
          f"daily report < 1000 ms: {results[last]['daily_30_p95']:.0f} ms, "
          f"{'met' if results[last]['daily_30_p95'] < 1000 else 'NOT met'}")
    (OUT / "bench_reports.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
