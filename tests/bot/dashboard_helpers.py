"""The dashboard served for tests: the seeded history of tests/bot/test_reports.py behind the desk's real HTTP
server (the customer pages' web app, on a free port), and sign-in links as Slack hands them out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from bot.dashboard_access import sign_in_link
from bot.desk import Desk
from bot.slack.http import HttpServer
from bot.web import build_customer_web_app

BEA, TOM, LEAD, MANAGER, FOUNDER, STRANGER = ("UBILLAGNT1", "UTECHAGNT1", "UTECHLEAD1", "UMANAGER01", "UFOUNDER01",
                                              "UNOTAGENT1")


@asynccontextmanager
async def dashboard_server(desk: Desk) -> AsyncIterator[str]:
    """The desk's web app on 127.0.0.1 and a free port; yields its base URL."""
    server = HttpServer(build_customer_web_app(desk), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


def path_of(url: str) -> str:
    """The path of a link (links name the public URL; tests reach the server on its own port)."""
    return urlsplit(url).path


async def sign_in_path(desk: Desk, user: str) -> str:
    return path_of(await sign_in_link(desk, user))
