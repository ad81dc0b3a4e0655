"""Issue 12.10: the Slack stand-in runs on its own (`python -m tests.fakes.slack_api --port N`) so a newcomer
can try the desk without a workspace: it answers auth.test, prints what the desk posts, and sends the clicks
and thread answers typed at its prompt to the desk as Slack does (signed with the signing secret)."""

from __future__ import annotations

import http.server
import json
import queue
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from tests.bot.slack_helpers import SIGNING_SECRET

ROOT = Path(__file__).parents[2]


class Console:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_api", *args], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self.wait_for(r"Slack stand-in on (\S+);").group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} in {seen}") from None
            seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def quit(self) -> int:
        self.type("quit")
        return self.process.wait(timeout=20)


class Desk(http.server.BaseHTTPRequestHandler):
    """Stands where `serve`'s /slack/events would be: keeps what arrives and whether its signature holds."""

    received: ClassVar[list[tuple[bool, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        valid = SignatureVerifier(SIGNING_SECRET).is_valid_request(body, dict(self.headers))
        form = urllib.parse.parse_qs(body)
        Desk.received.append((valid, json.loads(form["payload"][0]) if "payload" in form else json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def desk() -> Iterator[str]:
    Desk.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Desk)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


def test_the_stand_in_starts_from_the_command_line_and_answers_auth_test() -> None:
    console = Console("--port", "0")
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", console.url)
        client = WebClient(token="xoxb-0000000000-0000000000000-wedsynctesttoken", base_url=console.url)
        answer = client.auth_test()
        assert answer["ok"] is True and answer["user_id"] == "UBOTDESK01"
        with pytest.raises(SlackApiError) as refused:
            WebClient(token="xoxb-wrong", base_url=console.url).auth_test()
        assert refused.value.response["error"] == "invalid_auth"
    finally:
        assert console.quit() == 0


def test_what_the_desk_posts_is_printed_and_a_press_and_a_reply_reach_the_desk_signed(desk: str) -> None:
    console = Console("--port", "0", "--desk", desk, "--as", "UBILLAGNT1")
    try:
        client = WebClient(token="xoxb-0000000000-0000000000000-wedsynctesttoken", base_url=console.url)
        posted = client.chat_postMessage(channel="CBILLING01", text="BIL-1: Payment failed", blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "BIL-1: Payment failed"}},
            {"type": "actions", "block_id": "card:BIL-1", "elements": [
                {"type": "button", "action_id": "assign_me", "value": "BIL-1",
                 "text": {"type": "plain_text", "text": "Assign to me"}}]}])
        console.wait_for(r"^#1 posted in CBILLING01 \(channel, ts [\d.]+\): BIL-1: Payment failed")
        console.wait_for(r"button assign_me \(BIL-1\)")

        console.type("press 1 assign_me")
        console.wait_for("desk answered 200")
        console.type("reply 1 Hello Anna, it is fixed.")
        console.wait_for("desk answered 200")
        console.type("press 9 assign_me")
        console.wait_for(r"could not: no message #9; `list` shows them")
    finally:
        assert console.quit() == 0
    (valid_press, press), (valid_reply, reply) = Desk.received
    assert valid_press and valid_reply
    assert press["type"] == "block_actions" and press["user"]["id"] == "UBILLAGNT1"
    assert press["actions"][0] | {"action_ts": ""} == {"type": "button", "action_id": "assign_me",
                                                        "block_id": "card:BIL-1", "value": "BIL-1", "action_ts": ""}
    assert press["container"]["message_ts"] == posted["ts"]
    event = reply["event"]
    assert (event["type"], event["user"], event["thread_ts"], event["text"]) == (
        "message", "UBILLAGNT1", posted["ts"], "Hello Anna, it is fixed.")
