"""A local Slack Web API for tests: slack_sdk's clients pointed at it by `base_url`.

    with SlackApi(users={"UAGENT0001": {"real_name": "Bea Billing", "email": "bea@wedsync.com"}}) as slack_api:
        client = AsyncWebClient(token=slack_api.token, base_url=slack_api.url,
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(), AsyncServerErrorRetryHandler()])
        await client.chat_postMessage(channel="CBILLING01", text="New ticket", blocks=[...])
        slack_api.messages("CBILLING01")          # what the channel shows now, oldest first
        slack_api.thread("CBILLING01", ts)        # the parent and its replies, as conversations.replies
        slack_api.invalid                          # payloads refused as invalid blocks/views (want: [])

Methods: auth.test, chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink,
conversations.open, conversations.history, conversations.replies, views.open, views.update, views.publish,
views.push, users.info, reactions.add, files.getUploadURLExternal, files.completeUploadExternal, files.info
(with the upload URL it hands out and each file's url_private, which needs the bot token); anything else
answers `unknown_method`. `add_file(...)` is a file a person shared (for events and modal submissions),
`files_in(channel, thread_ts)` what the thread shows, `lose_answer_next("files.completeUploadExternal")` does
the work and answers 500, as when an answer is lost on the way back.

Like Slack, the server reads arguments from the query string, form bodies and JSON bodies alike (slack_sdk
sends JSON for chat.* and views.*, form or query parameters for the others, and the sync WebClient POSTs
even "GET" methods); `blocks`, `attachments`, `view` and `metadata` sent as JSON strings inside form data
are decoded. Every call needs `Authorization: Bearer <token>` (or a `token` argument): none answers
`not_authed`, another token `invalid_auth`, both with HTTP 200 as Slack does.

Blocks and views are validated with slack_sdk's own models (`Block.parse`, `View(**view)`,
`validate_json()` and `to_dict()`, which is what validates nested elements: `validate_json()` alone checks
only the top object), plus Slack rules the models don't enforce: at most 50 blocks in a message and 100 in
a view, message text at most 40,000 characters (`msg_too_long`), section text at most 3,000, no unknown
block or element types (the models turn those into None), no empty text objects, header text plain_text,
unique block_ids, a modal needs a title and, when it has input blocks, a submit button. A refused payload
answers `{"ok": false, "error": "invalid_blocks", "errors": [...]}` and is kept in `slack_api.invalid`.

Rate limits answer 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}` (what
`RateLimitErrorRetryHandler` retries on; it parses the header with int(), so it is sent in whole seconds);
5xx answer a plain-text 500/503 (what `ServerErrorRetryHandler` retries on). `error_next("channel_not_found")`
queues an ordinary Slack error (HTTP 200, ok false).

Fixture: `slack_api` (a running `SlackApi`, stopped after the test). A test module outside tests/fakes
brings it in with `from tests.fakes.slack_api import slack_api_fixture  # noqa: F401`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tests.fakes import Failure, FakeApiServer, RecordedRequest, as_bool, json_field

__all__ = ["InvalidPayload", "SlackApi", "SlackError", "slack_api_fixture", "validate_blocks", "validate_view"]

DEFAULT_TOKEN = "xoxb-0000000000-0000000000000-wedsynctesttoken"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
TEXT_OBJECT_TYPES = ("plain_text", "mrkdwn")


class SlackError(Exception):
    """A Slack API error answer (`{"ok": false, "error": ...}`) raised inside a method handler."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class InvalidPayload:
    """Blocks or a view that the stand-in refused: which call, the Slack error, the problems found and the
    payload as sent."""

    method: str
    error: str
    problems: list[str]
    payload: Any
    time: float


# -- validation ----------------------------------------------------------------------------------------------


def _walk(value: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{pointer}/{index}")


def _none_in_lists(value: Any, pointer: str) -> list[str]:
    """Pointers of None items in lists: where the models dropped an element type they do not know."""
    return [p for p, item in _walk(value, pointer) if item is None and p.rsplit("/", 1)[-1].isdigit()]


def _extra_block_rules(block: dict[str, Any], pointer: str) -> list[str]:
    problems: list[str] = []
    for where, item in _walk(block, pointer):
        if isinstance(item, dict) and item.get("type") in TEXT_OBJECT_TYPES and "text" in item:
            text = item["text"]
            if not isinstance(text, str):
                problems.append(f"text must be a string [json-pointer:{where}/text]")
            elif not text:
                problems.append(f"must be more than 0 characters [json-pointer:{where}/text]")
    kind = block.get("type")
    if kind == "section":
        text = block.get("text")
        if text is not None and not isinstance(text, dict):
            problems.append(f"section text must be a text object [json-pointer:{pointer}/text]")
        elif isinstance(text, dict) and isinstance(text.get("text"), str) and len(text["text"]) > MAX_SECTION_TEXT:
            problems.append(f"must be less than {MAX_SECTION_TEXT + 1} characters [json-pointer:{pointer}/text/text]")
    elif kind == "header":
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(f"header text must be plain_text [json-pointer:{pointer}/text]")
    elif kind in ("context", "actions"):
        elements = block.get("elements")
        limit = MAX_CONTEXT_ELEMENTS if kind == "context" else MAX_ACTIONS_ELEMENTS
        if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
            problems.append(f"{kind} needs 1 to {limit} elements [json-pointer:{pointer}/elements]")
    return problems


def validate_blocks(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks") -> list[str]:
    """Problems with a list of blocks, each worded like Slack's `[ERROR] ... [json-pointer:...]`; [] if valid.

    Usable directly on builder output, without a server: `assert validate_blocks(render(ticket)) == []`.
    """
    if not isinstance(blocks, list):
        return [f"blocks must be a JSON array [json-pointer:{pointer}]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"a block must be an object with a type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        try:
            parsed = Block.parse(copy.deepcopy(block))
            if parsed is None:
                problems.append(f"unknown block type {block['type']!r} [json-pointer:{where}]")
                continue
            parsed.validate_json()
            as_dict = parsed.to_dict()  # validates nested elements and text objects too
        except Exception as error:  # SlackObjectFormationError, or TypeError for missing arguments
            problems.append(f"{error} [json-pointer:{where}]")
            continue
        problems.extend(f"unknown element type [json-pointer:{p}]" for p in _none_in_lists(as_dict, where))
        problems.extend(_extra_block_rules(block, where))
    return [f"[ERROR] {problem}" for problem in problems]


def validate_view(view: Any, *, expect_type: str | None = None) -> list[str]:
    """Problems with a view (modal or home tab), worded like `validate_blocks`; [] if valid."""
    if not isinstance(view, dict):
        return ["[ERROR] view must be a JSON object [json-pointer:/view]"]
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append(f"[ERROR] view type must be modal or home, not {kind!r} [json-pointer:/view/type]")
    elif expect_type is not None and kind != expect_type:
        problems.append(f"[ERROR] this method takes a {expect_type} view, not {kind} [json-pointer:/view/type]")
    blocks = view.get("blocks")
    problems.extend(
        validate_blocks(blocks if blocks is not None else [], limit=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    )
    if kind == "modal":
        if not view.get("title"):
            problems.append("[ERROR] a modal needs a title [json-pointer:/view/title]")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and not view.get("submit"):
            problems.append("[ERROR] a modal with input blocks needs a submit button [json-pointer:/view/submit]")
    try:
        parsed = View(**copy.deepcopy(view))
        parsed.validate_json()
        parsed.to_dict()
    except Exception as error:
        problems.append(f"[ERROR] {error} [json-pointer:/view]")
    return problems


# -- the server ----------------------------------------------------------------------------------------------


def _short_id(prefix: str, seed: str) -> str:
    digest = hashlib.sha1(seed.encode()).hexdigest().upper()
    return prefix + "".join(c for c in digest if c.isalnum())[:10]


class SlackApi(FakeApiServer):
    """The Slack Web API (the methods the desk uses) on 127.0.0.1; see the module docstring."""

    name = "fake-slack"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        team_id: str = "T0WEDSYNC1",
        team_domain: str = "wedsync",
        bot_user_id: str = "UBOTDESK01",
        bot_id: str = "BBOTDESK01",
        app_id: str = "AAPPDESK01",
        channels: set[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """`users`: user id -> fields for users.info (real_name, email, tz... or a full Slack user object);
        when any are given, conversations.open and views.publish refuse other user ids (user_not_found).
        `channels`: when given, only these channel ids exist (others answer channel_not_found; DMs opened
        with conversations.open always exist); by default every channel id does."""
        super().__init__(host=host)
        self.token = token
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.known_channels = set(channels) if channels is not None else None
        self._users: dict[str, dict[str, Any]] = {}
        for user_id, fields in (users or {}).items():
            self.add_user(user_id, **fields)
        self._handlers: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "views.push": self._views_push,
            "users.info": self._users_info,
            "reactions.add": self._reactions_add,
            **self._file_methods(),
        }
        self._ts_lock = threading.Lock()
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._errors: list[tuple[str, str | None, dict[str, Any]]] = []
        self._reset_state()

    def _reset_state(self) -> None:
        self._channels: dict[str, dict[str, dict[str, Any]]] = {}  # channel -> ts -> message
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._invalid: list[InvalidPayload] = []
        self._dms: dict[str, str] = {}
        self._errors = []
        self._files: dict[str, dict[str, Any]] = {}  # file id -> Slack's file object
        self._file_bytes: dict[str, bytes] = {}
        self._lost: list[str] = []  # API methods whose next answer is lost after the work is done

    def reset(self) -> None:
        self._reset_state()

    @property
    def url(self) -> str:
        """The base_url for slack_sdk clients: http://127.0.0.1:PORT/api/ (with the trailing slash)."""
        return f"{self.origin}/api/"

    # -- configuration and seeding ----------------------------------------------------------------------

    def add_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Make `user_id` known to users.info. Shortcut fields (email, display_name, real_name, title, phone,
        image_72) go into the profile as well; anything else overrides the user object's own keys."""
        name = fields.get("name") or str(fields.get("real_name", user_id)).split(" ")[0].lower()
        real_name = fields.get("real_name", name.title())
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": real_name,
                "display_name": fields.get("display_name", real_name),
                "email": fields.get("email", f"{name}@example.com"),
                "team": self.team_id,
            },
        }
        for key in ("email", "display_name", "real_name", "title", "phone", "image_72"):
            if key in fields:
                user["profile"][key] = fields[key]
        user.update(
            {k: v for k, v in fields.items() if k not in ("email", "display_name", "title", "phone", "image_72")}
        )
        with self.lock:
            self._users[user_id] = user
        return user

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM with `user_id` (what conversations.open answers): "D" + 10 characters."""
        with self.lock:
            if user_id not in self._dms:
                self._dms[user_id] = _short_id("D", f"{self.team_id}/{user_id}")
            return self._dms[user_id]

    def post_as_user(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None, blocks: list[Any] | None = None
    ) -> str:
        """Put a message from a person into a channel (what an incoming event would be about); returns its ts.

        The bot can reply in its thread, react to it and link to it, but not update it (cant_update_message).
        """
        message: dict[str, Any] = {"type": "message", "user": user, "text": text, "team": self.team_id}
        if blocks is not None:
            message["blocks"] = blocks
        with self.lock:
            return self._store(channel, message, thread_ts)

    def new_trigger_id(self) -> str:
        """A fresh trigger_id, like one from an interaction payload (each can open one view, once)."""
        n = next(self._ids)
        return f"{1700000000 + n}.{100000 + n}.{hashlib.sha1(str(n).encode()).hexdigest()[:32]}"

    def error_next(self, error: str, *, path: str | None = None, times: int = 1, **extra: Any) -> None:
        """Answer the next `times` calls (matching `path`, e.g. "views.open") with `{"ok": false, "error": error}`
        and HTTP 200, the way Slack reports ordinary errors (channel_not_found, expired_trigger_id...)."""
        with self.lock:
            self._errors.extend((error, path, extra) for _ in range(times))

    # -- what tests read ------------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as it shows them now (updates applied, deleted ones gone), oldest first:
        top-level messages and thread replies sent with reply_broadcast. Copies, safe to keep."""
        with self.lock:
            stored = self._channels.get(self._resolve_channel(channel), {})
            shown = [
                m
                for m in stored.values()
                if "thread_ts" not in m or m["thread_ts"] == m["ts"] or m.get("subtype") == "thread_broadcast"
            ]
            return copy.deepcopy(sorted(shown, key=lambda m: m["ts"]))

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread under `ts` as conversations.replies gives it: the parent first, then its replies."""
        with self.lock:
            stored = self._channels.get(self._resolve_channel(channel), {})
            parent = stored.get(ts)
            if parent is None:
                return []
            replies = [m for m in stored.values() if m.get("thread_ts") == ts and m["ts"] != ts]
            return copy.deepcopy([parent, *sorted(replies, key=lambda m: m["ts"])])

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._channels.get(self._resolve_channel(channel), {}).get(ts)
            return copy.deepcopy(found)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages posted (each with its channel and user), oldest first."""
        with self.lock:
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
                ]
            )

    @property
    def views(self) -> list[dict[str, Any]]:
        """Every modal opened or pushed, in its latest state (views.update applied), oldest first."""
        with self.lock:
            return copy.deepcopy(list(self._views.values()))

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self.lock:
            return copy.deepcopy(self._views.get(view_id))

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The home tab last published for `user_id`."""
        with self.lock:
            return copy.deepcopy(self._homes.get(user_id))

    @property
    def invalid(self) -> list[InvalidPayload]:
        """Blocks and views refused as invalid so far (a test of well-behaved code wants this empty)."""
        with self.lock:
            return list(self._invalid)

    def assert_no_invalid(self) -> None:
        invalid = self.invalid
        assert not invalid, "Slack refused blocks/views:\n" + "\n".join(
            f"{i.method}: {i.error}: {'; '.join(i.problems)}" for i in invalid
        )

    # -- HTTP ----------------------------------------------------------------------------------------------

    def failure_response(self, failure: Failure, request: RecordedRequest) -> web.StreamResponse:
        if failure.status == 429:
            return self.render_failure(failure, {"ok": False, "error": "ratelimited"})
        if failure.status >= 500:
            reason = "Service Unavailable" if failure.status == 503 else "Internal Server Error"
            return self.render_failure(failure, f"{failure.status} {reason}")
        return self.render_failure(failure, {"ok": False, "error": "fatal_error"})

    async def handle(self, request: RecordedRequest) -> web.StreamResponse:
        if request.path.startswith(("/upload/v1/", "/files-pri/")):
            return self._file_transfer(request)
        prefix = "/api/"
        method = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
        handler = self._handlers.get(method)
        if handler is None:
            return web.json_response(
                {"ok": False, "error": "unknown_method", "req_method": method}, status=404 if not method else 200
            )
        args = {key: json_field(value) for key, value in request.params.items()}
        authorization = request.header("authorization") or ""
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else args.pop("token", None)
        args.pop("token", None)
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        with self.lock:
            queued = next(
                ((i, e) for i, e in enumerate(self._errors) if e[1] is None or request.path.endswith("/" + e[1])), None
            )
            if queued is not None:
                del self._errors[queued[0]]
                error, _, extra = queued[1]
                return web.json_response({"ok": False, "error": error, **extra})
            try:
                body = handler(args, method)
            except SlackError as failure:
                body = {"ok": False, "error": failure.error, **failure.extra}
            if method in self._lost:
                self._lost.remove(method)
                return web.Response(status=500, text="500 Internal Server Error")  # done, but the answer is lost
        return web.json_response(
            body, headers={"X-Slack-Req-Id": hashlib.sha1(request.raw + str(request.time).encode()).hexdigest()[:16]}
        )

    # -- helpers (called under self.lock) -----------------------------------------------------------------

    def _next_ts(self) -> str:
        with self._ts_lock:
            micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
            self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: str) -> str:
        if channel[:1] in ("U", "W") and channel in self._dms:
            return self._dms[channel]
        return channel

    def _channel(self, args: dict[str, Any], key: str = "channel") -> str:
        channel = args.get(key)
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel[:1] in ("U", "W"):  # posting to a user id posts in the bot's DM with them
            return self.dm_channel(channel)
        if self.known_channels is not None and channel not in self.known_channels and channel not in self._dms.values():
            raise SlackError("channel_not_found")
        return channel

    def _store(self, channel: str, message: dict[str, Any], thread_ts: str | None) -> str:
        channel = self._resolve_channel(channel)
        messages = self._channels.setdefault(channel, {})
        ts = self._next_ts()
        message["ts"] = ts
        if thread_ts:
            parent = messages.get(thread_ts)
            if parent is None:
                raise SlackError("thread_not_found")
            root = parent.get("thread_ts", thread_ts)  # a reply to a reply joins the parent's thread
            parent = messages[root]
            message["thread_ts"] = root
            parent["thread_ts"] = root
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users = parent.setdefault("reply_users", [])
            author = message.get("user", self.bot_user_id)
            if author not in users:
                users.append(author)
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = ts
        messages[ts] = message
        return ts

    def _refuse(self, method: str, payload: Any, problems: list[str], error: str = "invalid_blocks") -> SlackError:
        self._invalid.append(InvalidPayload(method, error, problems, copy.deepcopy(payload), time.time()))
        return SlackError(error, errors=problems, response_metadata={"messages": problems})

    def _check_message(self, method: str, args: dict[str, Any], *, require_content: bool = True) -> None:
        text = args.get("text")
        blocks = args.get("blocks")
        if require_content and not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise self._refuse(
                    method,
                    blocks,
                    ["[ERROR] blocks must be a JSON array [json-pointer:/blocks]"],
                    "invalid_blocks_format",
                )
            problems = validate_blocks(blocks)
            if problems:
                raise self._refuse(method, blocks, problems)

    def _bot_message(self, args: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message" if args.get("username") else None,
            "text": args.get("text", ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
        }
        for key in ("blocks", "attachments", "metadata", "username", "icon_emoji", "icon_url"):
            if args.get(key) is not None:
                message[key] = args[key]
        return {k: v for k, v in message.items() if v is not None}

    def _find(self, channel: str, ts: Any) -> dict[str, Any]:
        message = self._channels.get(channel, {}).get(ts) if isinstance(ts, str) else None
        if message is None:
            raise SlackError("message_not_found")
        return message

    # -- methods ----------------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_domain.title(),
            "user": "support-desk",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        self._check_message(method, args)
        message = self._bot_message(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and as_bool(args.get("reply_broadcast", False)):
            message["subtype"] = "thread_broadcast"
        ts = self._store(channel, message, thread_ts)
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        message = self._find(self._resolve_channel(channel), args.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_update_message")
        self._check_message(method, args, require_content=False)
        if "text" in args:
            message["text"] = args["text"]
        for key in ("blocks", "attachments", "metadata"):  # omitted: kept; [] removes them, as Slack does
            if key in args:
                if args[key]:
                    message[key] = args[key]
                else:
                    message.pop(key, None)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        message = self._find(channel, args.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_delete_message")
        del self._channels[channel][message["ts"]]
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _chat_post_ephemeral(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        user = args.get("user")
        if not isinstance(user, str) or not user:
            raise SlackError("user_not_found")
        self._check_message(method, args)
        ts = self._next_ts()
        message = self._bot_message(args)
        message.update({"channel": channel, "user": user, "ts": ts})
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self._ephemerals.append(message)
        return {"ok": True, "message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        message = self._find(channel, args.get("message_ts"))
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{message['ts'].replace('.', '')}"
        if message.get("thread_ts") not in (None, message["ts"]):
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_open(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        if args.get("channel"):
            channel = self._channel(args)
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        if self._users and any(u not in self._users for u in users):
            raise SlackError("user_not_found")
        if len(users) == 1:
            already = users[0] in self._dms
            channel_id = self.dm_channel(users[0])
            self._channels.setdefault(channel_id, {})
            body: dict[str, Any] = {"ok": True, "channel": {"id": channel_id}}
            if already:
                body.update({"no_op": True, "already_open": True})
            if as_bool(args.get("return_im", False)):
                body["channel"].update({"is_im": True, "user": users[0], "created": int(time.time())})
            return body
        channel_id = _short_id("G", ",".join(sorted(users)))
        self._channels.setdefault(channel_id, {})
        return {"ok": True, "channel": {"id": channel_id}}

    def _conversations_history(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        shown = list(reversed(self.messages(channel)))
        limit = int(args.get("limit") or 100)
        return {"ok": True, "messages": shown[:limit], "has_more": len(shown) > limit, "pin_count": 0}

    def _conversations_replies(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        thread = self.thread(channel, str(args.get("ts")))
        if not thread:
            raise SlackError("thread_not_found")
        return {"ok": True, "messages": thread, "has_more": False}

    def _use_trigger(self, args: dict[str, Any]) -> None:
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]}
            )
        if trigger_id in self._used_triggers:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def _check_view(self, method: str, view: Any, expect_type: str) -> dict[str, Any]:
        problems = validate_view(view, expect_type=expect_type)
        if problems:
            raise self._refuse(method, view, problems)
        assert isinstance(view, dict)
        return view

    def _view_record(
        self, view: dict[str, Any], *, view_id: str | None = None, previous: str | None = None
    ) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):010d}"
        record: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{hashlib.sha1(f'{view_id}{next(self._ids)}'.encode()).hexdigest()[:8]}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        record.update(copy.deepcopy(view))
        return record

    def _views_open(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        view = self._check_view(method, args.get("view"), "modal")
        self._use_trigger(args)
        record = self._view_record(view)
        self._views[record["id"]] = record
        return {"ok": True, "view": copy.deepcopy(record)}

    def _views_push(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        view = self._check_view(method, args.get("view"), "modal")
        self._use_trigger(args)
        stack_top = next(reversed(self._views), None)
        record = self._view_record(view, previous=stack_top)
        if stack_top is not None:
            record["root_view_id"] = self._views[stack_top]["root_view_id"]
        self._views[record["id"]] = record
        return {"ok": True, "view": copy.deepcopy(record)}

    def _views_update(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if view_id:
            current = self._views.get(view_id)
        elif external_id:
            current = next((v for v in self._views.values() if v.get("external_id") == external_id), None)
        else:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] view_id or external_id required"]}
            )
        if current is None:
            raise SlackError("not_found")
        view = self._check_view(method, args.get("view"), current["type"])
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        record = self._view_record(view, view_id=current["id"], previous=current["previous_view_id"])
        record["root_view_id"] = current["root_view_id"]
        self._views[current["id"]] = record
        return {"ok": True, "view": copy.deepcopy(record)}

    def _views_publish(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: user_id"]}
            )
        if self._users and user_id not in self._users:
            raise SlackError("user_not_found")
        view = self._check_view(method, args.get("view"), "home")
        current = self._homes.get(user_id)
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        record = self._view_record(view, view_id=current["id"] if current else None)
        self._homes[user_id] = record
        return {"ok": True, "view": copy.deepcopy(record)}

    def _users_info(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        user = self._users.get(str(args.get("user")))
        if user is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _reactions_add(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        channel = self._channel(args)
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        message = self._find(channel, args.get("timestamp"))
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if self.bot_user_id in reaction["users"]:
            raise SlackError("already_reacted")
        reaction["users"].append(self.bot_user_id)
        reaction["count"] += 1
        return {"ok": True}


    # -- files (files.uploadV2: getUploadURLExternal, the upload URL, completeUploadExternal; files.info) ------

    def _file_methods(self) -> dict[str, Callable[[dict[str, Any], str], dict[str, Any]]]:
        return {"files.getUploadURLExternal": self._files_get_upload_url, "files.completeUploadExternal":
                self._files_complete_upload, "files.info": self._files_info}

    def _new_file(self, name: str, user: str, mimetype: str = "", size: int = 0) -> dict[str, Any]:
        file_id = f"F{next(self._ids):010d}"
        private = f"{self.origin}/files-pri/{self.team_id}-{file_id}/{name}"
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        record: dict[str, Any] = {
            "id": file_id, "created": int(time.time()), "timestamp": int(time.time()), "name": name, "title": name,
            "mimetype": mimetype or "application/octet-stream", "filetype": extension, "user": user, "size": size,
            "mode": "hosted", "is_external": False, "is_public": False, "url_private": private,
            "url_private_download": private + "?download=1", "shares": {}, "channels": [], "groups": [],
            "ims": [], "comments_count": 0, "uploaded": False, "completed": False,
        }
        self._files[file_id] = record
        return record

    def add_file(self, user: str, name: str, content: bytes, mimetype: str = "application/octet-stream"
                 ) -> dict[str, Any]:
        """A file a person uploaded (not shared anywhere yet), as the `files` of a message event or of a modal's
        file_input: its object, whose url_private answers `content` to the bot token."""
        with self.lock:
            record = self._new_file(name, user, mimetype, len(content))
            record.update(uploaded=True, completed=True)
            self._file_bytes[record["id"]] = content
            return copy.deepcopy(self._public_file(record))

    def files_in(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The files shared in a thread (each with `content`: the bytes uploaded), oldest first."""
        with self.lock:
            found = []
            for message in self.thread(channel, thread_ts):
                for file in message.get("files", []):
                    found.append({**file, "content": self._file_bytes.get(file["id"], b"")})
            return found

    def lose_answer_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` (e.g. "files.completeUploadExternal") do their work and answer
        500: the effect happened, the client never heard."""
        with self.lock:
            self._lost.extend([method] * times)

    @staticmethod
    def _public_file(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in ("uploaded", "completed")}

    def _files_get_upload_url(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            raise SlackError("invalid_arguments", response_metadata={"messages": [
                "[ERROR] filename and a length above 0 are required"]})
        record = self._new_file(filename, self.bot_user_id, size=length)
        if args.get("alt_txt"):
            record["alt_txt"] = args["alt_txt"]
        return {"ok": True, "upload_url": f"{self.origin}/upload/v1/{record['id']}", "file_id": record["id"]}

    def _files_complete_upload(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] files is required"]})
        records = []
        for item in files:
            record = self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if record is None or not record["uploaded"]:
                raise SlackError("file_not_found")
            records.append((record, item))
        channel = self._channel(args, "channel_id") if args.get("channel_id") else None
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        fresh = []
        for record, item in records:
            if item.get("title"):
                record["title"] = str(item["title"])
            if not record["completed"]:  # completing a completed file again shares nothing twice
                record["completed"] = True
                fresh.append(record)
        if channel is not None and fresh:
            message = {"type": "message", "text": str(args.get("initial_comment") or ""), "user": self.bot_user_id,
                       "bot_id": self.bot_id, "upload": True, "display_as_bot": False,
                       "files": [self._public_file(r) for r in fresh]}
            ts = self._store(channel, message, thread_ts)
            for record in fresh:
                share = {"ts": ts, "channel_name": channel, "team_id": self.team_id, "share_user_id": self.bot_user_id}
                if thread_ts:
                    share["thread_ts"] = message["thread_ts"]
                kind = "public" if channel[:1] == "C" else "private"
                record["shares"].setdefault(kind, {}).setdefault(channel, []).append(share)
                record["channels" if kind == "public" else "groups"].append(channel)
            message["files"] = [self._public_file(r) for r in fresh]
        return {"ok": True, "files": [{"id": r["id"], "title": r["title"]} for r, _ in records]}

    def _files_info(self, args: dict[str, Any], method: str) -> dict[str, Any]:
        record = self._files.get(str(args.get("file") or ""))
        if record is None or not record["completed"]:
            raise SlackError("file_not_found")
        return {"ok": True, "file": copy.deepcopy(self._public_file(record)), "comments": [],
                "response_metadata": {"next_cursor": ""}}

    def _file_transfer(self, request: RecordedRequest) -> web.StreamResponse:
        """The upload URL (POST the bytes, no token: the URL is the permission) and url_private (GET, with the
        bot token; without it Slack answers a sign-in page, here 403)."""
        with self.lock:
            if request.path.startswith("/upload/v1/"):
                record = self._files.get(request.path.rsplit("/", 1)[-1])
                if record is None or record["completed"] or request.method != "POST":
                    return web.Response(status=404, text="not found")
                self._file_bytes[record["id"]] = request.raw
                record.update(uploaded=True, size=len(request.raw))
                return web.Response(status=200, text=f"OK - {len(request.raw)}")
            authorization = request.header("authorization") or ""
            if authorization != f"Bearer {self.token}":
                return web.Response(status=403, text="sign in to see this file")
            file_id = request.path[len("/files-pri/"):].split("/", 1)[0].rsplit("-", 1)[-1]
            if file_id not in self._file_bytes:
                return web.Response(status=404, text="file not found")
            return web.Response(body=self._file_bytes[file_id], content_type="application/octet-stream")


@pytest.fixture(name="slack_api")
def slack_api_fixture() -> Iterator[SlackApi]:
    """A running `SlackApi` (token `slack_api.token`, base URL `slack_api.url`), stopped after the test."""
    with SlackApi() as api:
        yield api


if __name__ == "__main__":  # `python -m tests.fakes.slack_api --port 8099`: see tests/fakes/slack_console.py
    from tests.fakes.slack_console import main

    raise SystemExit(main())
