"""Local HTTP stand-ins for the third-party APIs the desk talks to (Slack, Twilio, OpenAI).

None of those services can be reached from a test machine, so each stand-in is a real HTTP server on
127.0.0.1 and a free port that speaks enough of the service's API for the real client library (slack_sdk,
twilio, openai) to be pointed at it by base URL. Each one records every request and can be told to answer
with a rate limit, a server error or slowly, so retry and timeout paths are tested through the same code
that runs in production.

The server is aiohttp.web on a thread and event loop of its own, so it serves sync clients (urllib,
requests) and async clients (aiohttp, httpx) alike, from the test's thread or any other:

    with SlackApi() as slack_api:                      # or the `slack_api` fixture
        client = AsyncWebClient(token=slack_api.token, base_url=slack_api.url)
        ...
        slack_api.requests                             # every request, oldest first
        slack_api.calls("chat.postMessage")            # filtered by API path (or by HTTP verb: "POST")
        slack_api.fail_next(429, times=2, retry_after=0)
        slack_api.slow_next(3.0, path="chat.update")
        slack_api.clear()

This module holds what the stand-ins share: `FakeApiServer` (the server, the recording, the failure and
slowness queues) and `RecordedRequest`. The services are in `slack_api`, `twilio_api` and `openai_api`;
their pytest fixtures are importable from there (see each module's docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

__all__ = [
    "Failure",
    "FakeApiServer",
    "RecordedRequest",
    "Slowness",
    "as_bool",
    "json_field",
    "retry_after_header",
    "selector_matches",
]

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass
class RecordedRequest:
    """One HTTP request as the stand-in received it, and what it answered.

    `headers` has lower-cased names. `body` is the parsed body: a dict for form-encoded bodies (a field sent
    more than once becomes a list) and for JSON objects, whatever JSON held otherwise, the text for other
    content types, None when empty. `time` is the wall clock (time.time()) and `monotonic` time.monotonic()
    when the request arrived; `status` and `response` are filled in once it was answered (`response` is the
    JSON answered, or the text). `injected` says "fail" or "slow" (or both) when a queued failure or delay
    was applied to this request.
    """

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any
    raw: bytes
    content_type: str
    time: float
    monotonic: float
    status: int | None = None
    response: Any = None
    injected: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, Any]:
        """Query parameters and body fields together (the body wins), the way Slack reads arguments."""
        merged = dict(self.query)
        if isinstance(self.body, dict):
            merged.update(self.body)
        return merged

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def json(self) -> Any:
        """The body when it was JSON (a dict or list), else None."""
        return self.body if self.content_type == "application/json" else None


@dataclass
class Failure:
    """A queued error answer: `status`; `retry_after` seconds for a 429 or 503 (None: no header); `body`
    (None: the service's own error body for that status; a dict or list is sent as JSON, str/bytes as they
    are); only for requests whose path matches `path` (None: any)."""

    status: int
    retry_after: float | None
    body: Any
    path: str | None
    headers: dict[str, str]


@dataclass
class Slowness:
    seconds: float
    path: str | None


def selector_matches(selector: str | None, method: str, path: str) -> bool:
    """Whether a request matches `selector`: None matches all; an HTTP verb ("POST") matches the method;
    anything else matches the path exactly or its last segments ("chat.postMessage" matches
    "/api/chat.postMessage", "chat/completions" matches "/v1/chat/completions")."""
    if selector is None:
        return True
    if selector in HTTP_METHODS:
        return method == selector
    if path == selector:
        return True
    tail = selector.lstrip("/")
    return path.endswith("/" + tail)


def _parse_form(raw: bytes, charset: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode(charset, errors="replace"), keep_blank_values=True):
        if key in fields:
            previous = fields[key]
            fields[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[key] = value
    return fields


def _parse_body(raw: bytes, content_type: str, charset: str) -> Any:
    if not raw:
        return None
    if content_type == "application/json":
        try:
            return json.loads(raw.decode(charset))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return raw.decode(charset, errors="replace")
    if content_type == "application/x-www-form-urlencoded":
        return _parse_form(raw, charset)
    return raw.decode(charset, errors="replace")


def retry_after_header(seconds: float) -> str:
    """Retry-After as whole seconds, rounded up: slack_sdk's handlers parse it with int()."""
    return str(max(0, math.ceil(seconds)))


class FakeApiServer:
    """A recording HTTP server on 127.0.0.1 on a thread and event loop of its own.

    Subclasses implement `handle` (the service's answers) and `failure_response` (how the service words an
    injected error), and may extend `reset` (their own state, for `clear`). Handlers run on the server's
    thread: state that tests read is guarded by `self.lock`.

    `stop()` keeps the port and everything recorded, so `start()` brings the same service back on the same
    URL (a test can take the service away under a client and return it).
    """

    name = "fake-api"

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[Failure] = []
        self._slowness: list[Slowness] = []
        self._server_errors: list[str] = []
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._changed = threading.Condition(self.lock)

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} has never been started")
        return self._port

    @property
    def origin(self) -> str:
        """scheme://host:port, no trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a client library is given (subclasses add the service's prefix)."""
        return self.origin

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        return self

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port or 0))
        except OSError:
            sock.close()
            await runner.cleanup()
            raise
        self._port = int(sock.getsockname()[1])
        await web.SockSite(runner, sock).start()
        self._runner = runner

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = self._thread = None
            self._runner = None

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # wakes every slow answer now
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests read ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy: safe to iterate while the server runs)."""
        with self.lock:
            return list(self._requests)

    def calls(self, method_or_path: str | None = None) -> list[RecordedRequest]:
        """The requests matching an HTTP verb ("POST") or a path or its tail ("chat.postMessage")."""
        with self.lock:
            return [r for r in self._requests if selector_matches(method_or_path, r.method, r.path)]

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of exceptions in the stand-in itself (answered 500): a bug in the fake, not the client."""
        with self.lock:
            return list(self._server_errors)

    def wait_for(
        self, method_or_path: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until `count` matching requests were answered; for code under test running on other threads.

        In an async test use `await wait_for_async(..., within=seconds)`, which lets the test's loop run.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    r
                    for r in self._requests
                    if r.status is not None and selector_matches(method_or_path, r.method, r.path)
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.name}: {len(found)} of {count} {method_or_path or 'requests'} in {timeout}s"
                    )
                self._changed.wait(remaining)

    async def wait_for_async(
        self, method_or_path: str | None = None, count: int = 1, within: float = 5.0
    ) -> list[RecordedRequest]:
        """Like `wait_for`, polling, so the test's own event loop keeps running meanwhile."""
        timeout = within
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [
                    r
                    for r in self._requests
                    if r.status is not None and selector_matches(method_or_path, r.method, r.path)
                ]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.name}: {len(found)} of {count} {method_or_path or 'requests'} in {timeout}s")
            await asyncio.sleep(0.01)

    # -- what tests script -------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 429,
        times: int = 1,
        retry_after: float | None = 1,
        body: Any = None,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests (matching `path`, see `calls`) with `status` instead.

        A 429 or 503 carries `Retry-After: retry_after` in whole seconds (None: no header; `headers` adds
        others); `body` None means the service's own error body for that status. Queued failures are used
        in order, each by the first request it matches.
        """
        failure = Failure(status, retry_after, body, path, dict(headers or {}))
        with self.lock:
            self._failures.extend(Failure(**vars(failure)) for _ in range(times))

    def slow_next(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        """Hold the next `times` answers (matching `path`) for `seconds` before sending them."""
        with self.lock:
            self._slowness.extend(Slowness(seconds, path) for _ in range(times))

    def clear(self) -> None:
        """Forget every request, queued failure and delay, and the service's state (its configuration stays)."""
        with self.lock:
            self._requests.clear()
            self._failures.clear()
            self._slowness.clear()
            self._server_errors.clear()
            self.reset()

    # -- for subclasses ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Drop the service's own state (messages, views...); called by `clear()` under the lock."""

    async def handle(self, request: RecordedRequest) -> web.StreamResponse:
        raise NotImplementedError

    def failure_response(self, failure: Failure, request: RecordedRequest) -> web.StreamResponse:
        """The service's answer for an injected failure; subclasses word the default bodies."""
        return self.render_failure(failure, default_body={"error": f"injected {failure.status}"})

    def render_failure(
        self, failure: Failure, default_body: Any, extra_headers: Mapping[str, str] | None = None
    ) -> web.StreamResponse:
        headers = dict(extra_headers or {})
        if failure.retry_after is not None and failure.status in (429, 503):
            headers["Retry-After"] = retry_after_header(failure.retry_after)
        headers.update(failure.headers)
        body = default_body if failure.body is None else failure.body
        return self.render(failure.status, body, headers)

    @staticmethod
    def render(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
        """dict/list bodies as JSON, bytes as application/octet-stream, str as text/plain."""
        if isinstance(body, dict | list):
            return web.json_response(body, status=status, headers=headers)
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers, content_type="application/octet-stream")
        return web.Response(status=status, text=str(body), headers=headers, content_type="text/plain")

    # -- the dispatcher ------------------------------------------------------------------------------------

    def _take(self, queue: list[Any], request: RecordedRequest) -> Any:
        for index, item in enumerate(queue):
            if selector_matches(item.path, request.method, request.path):
                return queue.pop(index)
        return None

    async def _sleep(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _dispatch(self, http_request: web.Request) -> web.StreamResponse:
        raw = await http_request.read()
        charset = http_request.charset or "utf-8"
        content_type = http_request.content_type
        recorded = RecordedRequest(
            method=http_request.method,
            path=http_request.path,
            query=_parse_form(http_request.query_string.encode(), "utf-8"),
            headers={name.lower(): value for name, value in http_request.headers.items()},
            body=_parse_body(raw, content_type, charset),
            raw=raw,
            content_type=content_type,
            time=time.time(),
            monotonic=time.monotonic(),
        )
        with self.lock:
            self._requests.append(recorded)
            slowness: Slowness | None = self._take(self._slowness, recorded)
            failure: Failure | None = self._take(self._failures, recorded)
        if slowness is not None:
            recorded.injected.append("slow")
            await self._sleep(slowness.seconds)
        try:
            if failure is not None:
                recorded.injected.append("fail")
                response = self.failure_response(failure, recorded)
            else:
                response = await self.handle(recorded)
        except Exception:
            error = traceback.format_exc()
            with self.lock:
                self._server_errors.append(error)
            response = web.Response(status=500, text=f"{self.name} crashed:\n{error}", content_type="text/plain")
        self._note_answer(recorded, response)
        return response

    def _note_answer(self, recorded: RecordedRequest, response: web.StreamResponse) -> None:
        answered: Any = None
        if isinstance(response, web.Response) and response.body is not None and isinstance(response.body, bytes):
            text = response.body.decode("utf-8", errors="replace")
            try:
                answered = json.loads(text) if response.content_type == "application/json" else text
            except json.JSONDecodeError:
                answered = text
        with self._changed:
            recorded.status = response.status
            recorded.response = answered
            self._changed.notify_all()


def json_field(value: Any) -> Any:
    """A form field that carries JSON (Slack's `blocks`, `view`...): decoded when it parses, else as sent."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def as_bool(value: Any) -> bool:
    """A boolean argument as JSON (true) or form data ("true", "1") carries it."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
