"""The Slack stand-in as a console, for trying the desk without a workspace:

    python -m tests.fakes.slack_api --port 8099 --as UBILLAGNT1

It listens on the port given, prints the settings that point `serve` at it, then prints every message the desk
posts (cards, thread messages, DMs, modals), numbered, with their buttons. Type at its prompt to act as the
agent `--as` names, the way Slack would tell the desk (signed requests to /slack/events):

    press 1 assign_me         the button with that action_id on message 1
    reply 1 Hello Anna, ...   answer in message 1's thread (emailed to the customer after the undo window)
    list                      the messages so far
    quit
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
import urllib.parse
import urllib.request
from typing import Any, TextIO

from aiohttp import web

from tests.bot.slack_helpers import SIGNING_SECRET, button, sign
from tests.fakes import RecordedRequest
from tests.fakes.slack_api import SlackApi

SHOWN = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update", "views.publish")


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(block_id, action_id, value) of every button in `blocks`."""
    found = []
    for block in blocks:
        for element in [*(block.get("elements") or []), *([block["accessory"]] if block.get("accessory") else [])]:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append((str(block.get("block_id", "")), str(element.get("action_id")),
                              str(element.get("value", ""))))
    return found


class ConsoleSlack(SlackApi):
    """SlackApi on a fixed port that prints what the desk posts and sends an agent's clicks back."""

    name = "slack-console"

    def __init__(self, *, port: int, desk_url: str, user: str, out: TextIO,
                 signing_secret: str = SIGNING_SECRET) -> None:
        super().__init__()
        self._port = port or None  # FakeApiServer binds this port (0: any free one)
        self.desk_url, self.user, self.out, self.signing_secret = desk_url, user, out, signing_secret
        self.numbered: list[tuple[str, str]] = []  # message number - 1 -> (channel, ts)

    async def handle(self, request: RecordedRequest) -> web.StreamResponse:
        response = await super().handle(request)
        method = request.path.removeprefix("/api/")
        if method in SHOWN and isinstance(response, web.Response) and response.text:
            self.show(method, json.loads(response.text))
        return response

    def show(self, method: str, answer: dict[str, Any]) -> None:
        if not answer.get("ok"):
            print(f"  ({method} refused: {answer.get('error')})", file=self.out, flush=True)
            return
        if method.startswith("views."):
            view = answer.get("view") or {}
            print(f"  [{method}] {view.get('type')} {(view.get('title') or {}).get('text', '')}", file=self.out,
                  flush=True)
            return
        channel, ts = str(answer.get("channel", "")), str(answer.get("ts") or answer.get("message_ts") or "")
        message = self.message(channel, ts) if ts else None
        if message is None:
            print(f"  [{method}] {channel}: {answer.get('message', {}).get('text', '')[:200]}", file=self.out,
                  flush=True)
            return
        if (channel, ts) not in self.numbered:
            self.numbered.append((channel, ts))
        number = self.numbered.index((channel, ts)) + 1
        where = f"thread of {message['thread_ts']}" if message.get("thread_ts") not in (None, ts) else "channel"
        verb = "updated" if method == "chat.update" else "posted"
        text = html.unescape(str(message.get("text", "")))  # Slack's &lt; &gt; &amp;, shown as typed
        print(f"#{number} {verb} in {channel} ({where}, ts {ts}): {text[:300]}",
              file=self.out, flush=True)
        for _block, action, value in buttons(message.get("blocks") or []):
            print(f"     button {action} ({value})", file=self.out, flush=True)

    def numbered_message(self, number: int) -> tuple[str, str, dict[str, Any]]:
        if not 1 <= number <= len(self.numbered):
            raise ValueError(f"no message #{number}; `list` shows them")
        channel, ts = self.numbered[number - 1]
        found = self.message(channel, ts)
        if found is None:
            raise ValueError(f"message #{number} was deleted")
        return channel, ts, found

    def send(self, body: str, content_type: str) -> str:
        stamp = int(time.time())
        request = urllib.request.Request(self.desk_url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": sign(body, stamp, self.signing_secret)})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return f"desk answered {answer.status}"

    def press(self, number: int, action: str) -> str:
        channel, ts, message = self.numbered_message(number)
        match = next((b for b in buttons(message.get("blocks") or []) if b[1] == action), None)
        if match is None:
            raise ValueError(f"message #{number} has no button {action}")
        payload = button(self.user, action, match[2], channel, self.new_trigger_id(), match[0])
        payload["container"] = {"type": "message", "channel_id": channel, "message_ts": ts}
        payload["message"] = message
        return self.send(urllib.parse.urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def reply(self, number: int, text: str) -> str:
        channel, ts, message = self.numbered_message(number)
        parent = str(message.get("thread_ts") or ts)
        posted = self.post_as_user(channel, self.user, text, thread_ts=parent)
        event = {"type": "message", "channel": channel, "user": self.user, "text": text, "ts": posted,
                 "thread_ts": parent, "channel_type": "channel", "event_ts": posted}
        body = {"token": "legacy", "team_id": self.team_id, "api_app_id": self.app_id, "type": "event_callback",
                "event_id": f"Ev{posted.replace('.', '')}", "event_time": int(time.time()), "event": event}
        return self.send(json.dumps(body), "application/json")

    def command(self, line: str) -> str | None:
        """One line typed at the prompt; None ends the console."""
        word, _, rest = line.strip().partition(" ")
        try:
            if word in ("quit", "exit"):
                return None
            if word == "list":
                return "\n".join(f"#{n} {c} {t}" for n, (c, t) in enumerate(self.numbered, 1)) or "no messages yet"
            if word == "press":
                number, action = rest.split()
                return self.press(int(number.lstrip("#")), action)
            if word == "reply":
                number, text = rest.split(" ", 1)
                return self.reply(int(number.lstrip("#")), text)
            return "" if not word else f"unknown command {word!r}: press N ACTION, reply N TEXT, list, quit"
        except (ValueError, OSError) as error:
            return f"could not: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.slack_api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8099, help="where the stand-in listens (0: any free port)")
    parser.add_argument("--desk", default="http://127.0.0.1:3000/slack/events",
                        help="the desk's Slack endpoint (HTTP_HOST:HTTP_PORT of serve)")
    parser.add_argument("--as", dest="user", default="UBILLAGNT1", help="the agent's Slack id you act as")
    parser.add_argument("--signing-secret", default=SIGNING_SECRET, help="what SLACK_SIGNING_SECRET is set to")
    args = parser.parse_args(argv)
    slack = ConsoleSlack(port=args.port, desk_url=args.desk, user=args.user, out=sys.stdout,
                         signing_secret=args.signing_secret)
    with slack:
        print(f"Slack stand-in on {slack.url}; start the desk with:\n"
              f"  SLACK_API_URL={slack.url} SLACK_BOT_TOKEN={slack.token} "
              f"SLACK_SIGNING_SECRET={args.signing_secret} .venv/bin/wedsync-support serve\n"
              "commands: press N ACTION, reply N TEXT, list, quit", flush=True)
        for line in sys.stdin:
            said = slack.command(line)
            if said is None:
                break
            if said:
                print(said, flush=True)
    return 0
