"""The Slack side of `serve`: the Bolt app behind HTTP (or Socket Mode), the poster and the undo timer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.dashboard import add_dashboard_routes
from bot.desk import Desk
from bot.errors import SettingsError
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.client import build_client
from bot.slack.http import HttpServer, build_web_app
from bot.slack.poster import SlackPoster
from bot.slack.replies import PendingReplies
from bot.web import add_customer_routes
from bot.workers import Worker

log = logging.getLogger(__name__)


@dataclass
class SlackParts:
    app: AsyncApp
    poster: SlackPoster
    pending: PendingReplies
    http: HttpServer | None = None
    socket: AsyncSocketModeHandler | None = None
    workers: list[Worker] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None  # the Web API client's connections

    async def close(self) -> None:
        """After the workers stopped: the Web API client's kept-alive connections."""
        if self.session is not None:
            await self.session.close()

    def named_workers(self) -> list[tuple[str, Worker]]:
        return [("slack-poster", self.poster), ("slack-pending", self.pending)]

    async def stop_intake(self) -> None:
        if self.http is not None:
            await self.http.stop()
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]


async def start_slack(desk: Desk, settings: Settings, say: Callable[[str], None]) -> SlackParts:
    session = aiohttp.ClientSession()
    try:
        return await _start(desk, settings, say, session)
    except BaseException:
        await session.close()
        raise


async def _start(desk: Desk, settings: Settings, say: Callable[[str], None],
                 session: aiohttp.ClientSession) -> SlackParts:
    client = build_client(settings, session)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = build_app(desk, client, None if settings.slack_app_token else secret)
    poster, pending = SlackPoster(desk, client), PendingReplies(desk)
    desk.on_outbox.append(poster.wake)
    parts = SlackParts(app, poster, pending, workers=[poster, pending], session=session)
    missing = [name for name, team in desk.config.teams.items() if not team.channel]
    if not desk.config.teams or missing:
        say(f"Slack: teams without a channel ({', '.join(missing) or 'none configured'}): their cards go to "
            "general_support's channel; set teams.<team>.channel in support.yml")
    if settings.slack_app_token is not None:
        parts.socket = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        await parts.socket.connect_async()  # type: ignore[no-untyped-call]
        say("Slack: Socket Mode connected")
        return parts
    web_app = build_web_app(app)
    add_customer_routes(web_app, desk)
    add_dashboard_routes(web_app, desk)
    parts.http = HttpServer(web_app, settings.http_host, settings.http_port)
    try:
        await parts.http.start()
    except OSError as error:
        raise SettingsError(f"cannot listen on {settings.http_host}:{settings.http_port} ({error}); "
                            "set HTTP_PORT to a free port") from error
    say(f"Slack: events, interactivity and /ticket at http://{settings.http_host}:{parts.http.port}/slack/events")
    say(f"customer pages (rating and self-service links) on http://{settings.http_host}:{parts.http.port}; "
        f"links in mail use {settings.base_url}")
    return parts
