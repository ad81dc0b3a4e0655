"""The SLA ticker's time per tick with many open tickets: none due, and 1% due, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_ticker [--tickets 100000] [--postgres URL | --no-postgres]

The baseline, measured in the same run on the same database, is one trivial `SELECT 1` round trip through
the same engine. The target (issue "SLA clocks"): under 20 ms a tick when nothing is due, growing with the
number of due tickets, not with the total.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text

from bot.bootstrap import start_desk
from bot.settings import Settings
from bot.sla import SlaState, dump, start_clocks
from db.tables import CustomerRow, TicketRow
from tests.clocks import FakeClock
from ticketing.sla import SlaTarget

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def ticket_rows(count: int, due: int, customer: str) -> list[dict[str, object]]:
    rows = []
    for n in range(count):
        created = NOW - timedelta(minutes=30) if n < due else NOW
        state = dump(SlaState(start_clocks(SlaTarget(1440, 7200), created)))
        next_at = NOW - timedelta(minutes=1) if n < due else NOW + timedelta(days=1, minutes=n % 600)
        rows.append({
            "id": f"TKT-B{n:07d}-AAA", "user_id": customer, "user_type": "supplier", "user_tier": "free",
            "subject": f"Question {n}", "description": "How do I change my logo?", "type": "question",
            "category": "feature_help", "priority": "low", "status": "open", "team": "customer_success",
            "created_at": created, "updated_at": created, "sla_first_response": 1440, "sla_resolution": 7200,
            "sla_first_response_due": created + timedelta(minutes=1440),
            "sla_resolution_due": created + timedelta(minutes=7200), "sla_breach": False, "escalation_level": 0,
            "classification": {"category": "feature_help", "type": "question", "tags": [], "template": None,
                               "confidence": 0.0, "reason": "bench", "source": "fallback"},
            "attachments": [], "tags": [], "metadata_": {"source": "api"}, "sla_state": state, "sla_next_at": next_at,
        })
    return rows


async def measure(url: str, count: int, due: int) -> dict[str, float]:
    clock = FakeClock(NOW)
    desk = await start_desk(Settings(_env_file=None, database_url=url, support_config=Path("/nonexistent.yml")),
                            clock)
    from bot.sla import Ticker

    try:
        customer = str(uuid.uuid4())
        async with desk.db.transaction() as session:
            await session.execute(insert(CustomerRow), [{"id": customer, "email": "bench@example.com", "name": "",
                                                         "user_type": "supplier", "tier": "free", "language": "en",
                                                         "undeliverable": False, "created_at": NOW}])
            rows = ticket_rows(count, 0, customer)
            for start in range(0, len(rows), 5000):
                await session.execute(insert(TicketRow), rows[start:start + 5000])
        ticker = Ticker(desk)
        baseline, idle = [], []
        for _ in range(30):
            started = time.perf_counter()
            async with desk.db.sessions() as session:
                await session.execute(text("SELECT 1"))
            baseline.append(time.perf_counter() - started)
            started = time.perf_counter()
            await ticker.tick()
            idle.append(time.perf_counter() - started)
        async with desk.db.transaction() as session:  # make 1% due
            await session.execute(text("UPDATE tickets SET sla_next_at = :at WHERE id IN (SELECT id FROM tickets "
                                       "ORDER BY id LIMIT :n)"), {"at": NOW - timedelta(minutes=1), "n": due})
        started = time.perf_counter()
        handled = await ticker.tick()
        busy = time.perf_counter() - started
        return {"baseline_ms": statistics.median(baseline) * 1000, "idle_ms": statistics.median(idle) * 1000,
                "idle_p99_ms": sorted(idle)[int(len(idle) * 0.99) - 1] * 1000, "due": handled,
                "busy_ms": busy * 1000, "per_due_ms": busy * 1000 / max(handled, 1)}
    finally:
        await desk.db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    due = max(1, args.tickets // 100)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await measure(f"sqlite+aiosqlite:///{folder}/ticker.db", args.tickets, due)
    if not args.no_postgres:
        name = f"bench_ticker_{uuid.uuid4().hex[:8]}"
        try:
            admin = await asyncpg.connect(args.postgres)
        except OSError as error:
            print(f"postgresql: skipped ({error})")
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                results["postgresql"] = await measure(f"{base}/{name}", args.tickets, due)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    print(f"{args.tickets} open tickets; baseline = one SELECT 1 round trip through the same engine")
    print(f"{'':12} {'baseline ms':>12} {'idle tick ms':>13} {'x baseline':>11} {'1% due: tick ms':>16} "
          f"{'per due ms':>11} target idle < 20 ms")
    for backend, r in results.items():
        print(f"{backend:12} {r['baseline_ms']:12.2f} {r['idle_ms']:13.2f} {r['idle_ms'] / r['baseline_ms']:11.1f} "
              f"{r['busy_ms']:16.0f} {r['per_due_ms']:11.2f} {'met' if r['idle_ms'] < 20 else 'NOT met'}"
              f" ({int(r['due'])} due handled)")


if __name__ == "__main__":
    asyncio.run(main())
