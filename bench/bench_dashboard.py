"""The dashboard page's response time over HTTP: the desk's real web app on a real port, a real HTTP client with a
signed-in session, on the SQLite corpus of bench/bench_reports.py (N tickets, 10 messages each: 1,000,000 at
100,000).

    .venv/bin/python -m bench.bench_dashboard [--sizes 10000,30000,100000] [--runs 20]

Measured per size, each `--runs` times after one warm-up round:
- baseline: GET /health on the same server (the HTTP round trip and aiohttp, nothing of ours);
- data: db.reports.build_dashboard alone, in-process (what the page waits for);
- cold_90: the same for 90 days with the kept tallies of closed days forgotten first (db/report_days.py): what
  the first page after a start costs, and what every page cost before the tallies were kept;
- page 7/30/90: GET /dashboard?days=N, the whole HTML (session check, data, rendering);
- chart: GET of each chart URL right after its page (the numbers reused, the SVG cached per value), and once per
  size each chart drawn afresh (its cache emptied first), which is what an inlined chart would add to a page.

Before each data and page measurement two tickets change (one created yesterday, one ten days ago: a bare UPDATE,
which the database's trigger counts), so every measured page reads those two days again, as on a desk at work.

Wall times and the process's CPU time (server and client run in this one process, so on a machine shared with
other work the CPU time says more). Target (issue 10): the page's p95 < 300 ms at 100,000 tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from sqlalchemy import select, update

from bench.bench_reports import NOW, OUT, seeded
from bot import charts
from bot.bootstrap import start_desk
from bot.dashboard_access import COOKIE, sign_in_link
from bot.desk import Desk
from bot.settings import Settings
from bot.slack.http import HttpServer
from bot.web import build_customer_web_app
from db import report_days
from db import reports as report_store
from db.tickets import TICKETS

PERIODS = (7, 30, 90)
CHART_NAMES = ("volume", "categories", "backlog")
SUPPORT = {
    "company": "WedSync",
    "teams": {"billing_team": {"hours": "09:00-17:00", "timezone": "Europe/London"}, "technical_team": {},
              "customer_success": {}},
    "agents": [
        {"slack_id": "UBILLAGNT1", "name": "Bea Billing", "email": "bea@wedsync.com", "team": "billing_team"},
        {"slack_id": "UBILLSEN01", "name": "Sid Senior", "email": "sid@wedsync.com", "team": "billing_team"},
        {"slack_id": "UTECHAGNT1", "name": "Tom Tech", "email": "tom@wedsync.com", "team": "technical_team"},
        {"slack_id": "UTECHAGNT2", "name": "Tia Tech", "email": "tia@wedsync.com", "team": "technical_team"},
        {"slack_id": "USUCCESS01", "name": "Sue Success", "email": "sue@wedsync.com", "team": "customer_success"},
    ],
}


class FixedClock:
    """The corpus's "now": its tickets are the year before it."""

    def now(self) -> datetime:
        return NOW


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _desk(path: Path) -> Desk:
    support = OUT / "bench-dashboard-support.yml"
    support.write_text(yaml.safe_dump(SUPPORT), encoding="utf-8")
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}", support_config=support,
                        classifier_dir="off")
    return await start_desk(settings, FixedClock())


async def _timed(client: aiohttp.ClientSession, url: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    async with client.get(url) as response:
        body = await response.read()
    return (time.perf_counter() - started) * 1000, response.status, len(body)


def _clear_chart_caches() -> None:
    for cached in (charts._volume, charts._categories, charts._backlog):  # the bench draws afresh
        cached.cache_clear()


async def _touched(desk: Desk) -> list[str]:
    """A ticket created yesterday and one created ten days ago (as the corpus's clock has it)."""
    found = []
    async with desk.db.sessions() as session:
        for days in (1, 10):
            moment = report_days.midnight(NOW) - timedelta(days=days) + timedelta(hours=12)
            found.append((await session.execute(select(TICKETS.c.id).where(TICKETS.c.created_at >= moment)
                                                .order_by(TICKETS.c.created_at).limit(1))).scalar_one())
    return found


async def _touch(desk: Desk, ids: list[str]) -> None:
    async with desk.db.transaction() as session:
        await session.execute(update(TICKETS).where(TICKETS.c.id.in_(ids)).values(updated_at=NOW))


async def measure(path: Path, runs: int) -> dict[str, Any]:
    desk = await _desk(path)
    touched = await _touched(desk)
    server = HttpServer(build_customer_web_app(desk), "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    timings: dict[str, list[float]] = {"baseline": [], "cold_90": [], **{f"data_{d}": [] for d in PERIODS},
                                       **{f"page_{d}": [] for d in PERIODS}, "chart": [],
                                       **{f"cpu_{k}_{d}": [] for k in ("data", "page") for d in PERIODS}}
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as signer:
            link = urlsplit(await sign_in_link(desk, "UBILLAGNT1")).path
            async with signer.get(base + link, allow_redirects=False) as response:
                assert response.status == 303, response.status
                cookie = response.cookies[COOKIE].value
        async with aiohttp.ClientSession(headers={"Cookie": f"{COOKIE}={cookie}"}) as client:
            _clear_chart_caches()
            await _timed(client, f"{base}/dashboard?days=30")
            for name in CHART_NAMES:  # the first draw of each chart at this size, numbers already computed
                drawn, status, _size = await _timed(client, f"{base}/dashboard/charts/{name}.svg?days=30&team=")
                assert status == 200
                results[f"chart_{name}_fresh"] = drawn
            for run in range(runs + 1):
                took: dict[str, list[float]] = {name: [] for name in timings}
                took["baseline"].append((await _timed(client, f"{base}/health"))[0])
                async with desk.db.sessions() as session:
                    report_days.forget(session)
                    started = time.perf_counter()
                    await report_store.build_dashboard(session, now=NOW, days=90, calendars=desk.config.calendars)
                    took["cold_90"].append((time.perf_counter() - started) * 1000)
                for days in PERIODS:
                    await _touch(desk, touched)
                    started, cpu = time.perf_counter(), time.process_time()
                    async with desk.db.sessions() as session:
                        await report_store.build_dashboard(session, now=NOW, days=days,
                                                           calendars=desk.config.calendars)
                    took[f"data_{days}"].append((time.perf_counter() - started) * 1000)
                    took[f"cpu_data_{days}"].append((time.process_time() - cpu) * 1000)
                    await _touch(desk, touched)
                    cpu = time.process_time()
                    elapsed, status, size = await _timed(client, f"{base}/dashboard?days={days}")
                    assert status == 200 and size > 3_000, (status, size)
                    took[f"page_{days}"].append(elapsed)
                    took[f"cpu_page_{days}"].append((time.process_time() - cpu) * 1000)
                    for name in CHART_NAMES:
                        took["chart"].append((await _timed(
                            client, f"{base}/dashboard/charts/{name}.svg?days={days}&team="))[0])
                if run:  # the first round warms the caches and is not counted
                    for name, values in took.items():
                        timings[name].extend(values)
        for name, values in timings.items():
            results[f"{name}_p50"] = statistics.median(values)
            results[f"{name}_p95"] = _p(values, 0.95)
    finally:
        await server.stop()
        await desk.db.close()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: await measure(await seeded(size), args.runs) for size in sizes}
    print(f"SQLite over HTTP, {args.runs} runs each (p50 / p95 ms); baseline = GET /health on the same server")
    names = ("baseline", "cold_90", *(f"data_{d}" for d in PERIODS), *(f"page_{d}" for d in PERIODS), "chart")
    print(f"{'tickets':>8} " + " ".join(f"{n:>15}" for n in names)
          + f" {'page90/base':>11} {'page90/data':>11} {'data90/cold':>11}")
    for size, r in results.items():
        cells = [f"{r[f'{n}_p50']:6.1f} /{r[f'{n}_p95']:6.1f}" for n in names]
        print(f"{size:8d} " + " ".join(f"{c:>15}" for c in cells)
              + f" {r['page_90_p50'] / r['baseline_p50']:11.1f} {r['page_90_p50'] / r['data_90_p50']:11.2f}"
              + f" {r['data_90_p50'] / r['cold_90_p50']:11.2f}")
    fresh = "; ".join(f"{size}: " + ", ".join(f"{n} {r[f'chart_{n}_fresh']:.0f}" for n in CHART_NAMES)
                      for size, r in results.items())
    print("process CPU time, p50 ms (server and client share this process; less bent by a busy machine than wall)")
    cpu_names = [f"cpu_{k}_{d}" for k in ("data", "page") for d in PERIODS]
    print(f"{'tickets':>8} " + " ".join(f"{n:>12}" for n in cpu_names))
    for size, r in results.items():
        print(f"{size:8d} " + " ".join(f"{r[f'{n}_p50']:12.1f}" for n in cpu_names))
    print(f"a chart drawn afresh (its request, 30 days), ms: {fresh}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    first, last = sizes[0], sizes[-1]
    for name in ("baseline", "cold_90", "data_90", "page_90"):
        growth = results[last][f"{name}_p50"] / results[first][f"{name}_p50"]
        print(f"growth {first} -> {last} tickets ({last / first:.0f}x): {name} {growth:.1f}x")
    worst = max(results[last][f"page_{d}_p95"] for d in PERIODS)
    print(f"target page p95 < 300 ms at {last}: {worst:.0f} ms, {'met' if worst < 300 else 'NOT met'}")
    (OUT / "bench_dashboard.json").write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
