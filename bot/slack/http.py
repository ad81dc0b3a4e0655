"""The desk's HTTP server (aiohttp): Slack's events, interactivity and slash command at /slack/events."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp


def build_web_app(app: AsyncApp) -> web.Application:
    async def slack_events(request: web.Request) -> web.Response:
        # Bolt checks the signature and timestamp (stale or forged requests get 401) before any listener runs.
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/health", health)
    return web_app


class HttpServer:
    def __init__(self, web_app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(web_app, access_log=None)
        self._host, self._port = host, port
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self._host, self._port)
        await self._site.start()

    @property
    def port(self) -> int:
        server = self._site._server if self._site else None
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else self._port

    async def stop(self) -> None:
        await self._runner.cleanup()
