"""The Slack Web API client: slack_sdk's, with its retry handlers, pointed at SLACK_API_URL."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings


def build_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """429 is retried after its Retry-After, 5xx and dropped connections with backoff (slack_sdk's handlers);
    whatever still fails goes back to the outbox, which tries again later.

    `session` (one aiohttp session for the process, kept alive) saves a new connection and a new session per
    call, which slack_sdk opens when it has none; its owner closes it."""
    if settings.slack_bot_token is None:
        raise ValueError("no SLACK_BOT_TOKEN")
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=15,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def error_code(error: SlackApiError) -> str:
    """Slack's error code ("channel_not_found"), or "" when the answer had none (a plain-text 5xx page)."""
    data = error.response.data if error.response is not None else None
    return str(data.get("error", "")) if isinstance(data, dict) else ""
