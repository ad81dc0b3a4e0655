"""Signed Slack requests into the running app, as Slack sends them (real signatures, real payload shapes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

import aiohttp

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
TEAM = "T0WEDSYNC1"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Posts to /slack/events with Slack's headers; `secret` or `timestamp` can be wrong on purpose."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.events = 0

    async def post(self, body: str, content_type: str, *, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None, retry: int | None = None) -> tuple[int, str]:
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(stamp),
                   "X-Slack-Signature": sign(body, stamp, secret)}
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with aiohttp.ClientSession() as session, session.post(self.url, data=body.encode(),
                                                                     headers=headers) as response:
            return response.status, await response.text()

    async def interaction(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def event(self, event: dict[str, Any], event_id: str | None = None, **kwargs: Any) -> tuple[int, str]:
        self.events += 1
        if event.get("type") == "message":
            event = {"channel_type": "channel", "event_ts": event.get("ts"), **event}
        body = {"token": "legacy", "team_id": TEAM, "api_app_id": "AAPPDESK01", "type": "event_callback",
                "event_id": event_id or f"Ev{self.events:010d}", "event_time": int(time.time()), "event": event}
        return await self.post(json.dumps(body), "application/json", **kwargs)

    async def command(self, user: str, text: str, channel: str, trigger_id: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({"command": "/ticket", "text": text, "user_id": user, "channel_id": channel,
                                       "team_id": TEAM, "trigger_id": trigger_id, "response_url":
                                       "http://127.0.0.1:9/unused", "user_name": user})
        return await self.post(body, "application/x-www-form-urlencoded")


def button(user: str, action_id: str, value: str, channel: str, trigger_id: str, block_id: str = "b") -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": user, "team_id": TEAM}, "team": {"id": TEAM},
            "api_app_id": "AAPPDESK01", "trigger_id": trigger_id, "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel}, "response_url": "http://127.0.0.1:9/unused",
            "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                         "action_ts": str(time.time())}]}


def users_select(user: str, selected: str, channel: str, block_id: str) -> dict[str, Any]:
    payload = button(user, "assign_pick", "", channel, "t", block_id)
    payload["actions"][0] = {"type": "users_select", "action_id": "assign_pick", "block_id": block_id,
                             "selected_user": selected, "action_ts": str(time.time())}
    return payload


def submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "view_submission", "user": {"id": user, "team_id": TEAM}, "team": {"id": TEAM},
            "api_app_id": "AAPPDESK01", "trigger_id": "t",
            "view": {**view, "state": {"values": values}}}


def text_value(field: str, value: str) -> dict[str, Any]:
    return {field: {field: {"type": "plain_text_input", "value": value}}}


def select_value(field: str, value: str, kind: str = "static_select") -> dict[str, Any]:
    return {field: {field: {"type": kind, "selected_option": {"value": value, "text": {"type": "plain_text",
                                                                                      "text": value}}}}}
