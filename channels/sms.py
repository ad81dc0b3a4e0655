"""Manager alerts by SMS: `SmsSender` hands one text to Twilio through the official `twilio` client.

Async: the sender uses the client's own asynchronous HTTP client (`AsyncTwilioHttpClient`, aiohttp) and
`messages.create_async`, so a send is a coroutine on the desk's event loop like everything else: no worker
thread per send, cancellation (shutdown, an outbox timeout) really stops the request, and tenacity's waits
are `asyncio.sleep`. The aiohttp session is opened on the first send (it needs the running loop) and closed
by `aclose()` / `async with`; one sender belongs to one event loop.

Redirecting (`api_url`, TWILIO_API_URL): twilio 9 has no base-URL argument. `client.api` (the 2010-04-01 API
that holds Messages) is a domain object whose `base_url` is read on every request, so it is set to `api_url`;
`client.edge` and `client.region` are cleared because the client fills them from TWILIO_EDGE / TWILIO_REGION
and would rewrite the host into `api.<edge>.<region>.twilio.com`. Without `api_url` nothing is touched.

Retries (the client has none): HTTP 429 (waiting what Retry-After says when it says it), 5xx and failures to
connect are retried with exponential backoff and jitter, `SmsRetry.attempts` times within
`SmsRetry.max_total_wait` seconds of waiting, then `TransientDeliveryError`; the outbox retries later. A
request that got no answer within `timeout` is not retried here: Twilio may have taken it, and Messages
has no idempotency key, so a quick retry would text the manager twice (the outbox's later retry still may).
Other 4xx are `PermanentDeliveryError` with Twilio's error code, except 401 (our credentials: every SMS
would fail, so the message stays in the outbox as transient until the configuration is fixed).

Privacy: nothing here logs or puts in an exception a phone number, a message body or the auth token; Twilio's
own error text is never passed on (it quotes the number), only its status and code.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.errors import ChannelError, PermanentDeliveryError, TransientDeliveryError
from channels.sms_policy import SMS_LIMIT, fit_sms

__all__ = ["E164", "SmsConfig", "SmsRetry", "SmsSender", "is_e164"]

log = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")

# What Twilio's codes mean, in our words: Twilio's own messages quote the phone number.
_TWILIO_CODES: dict[int, str] = {
    20003: "authentication failed",
    20404: "account or resource not found",
    20429: "too many requests",
    20500: "Twilio internal error",
    20503: "Twilio unavailable",
    21211: "invalid 'To' number",
    21408: "sending to that region is not enabled",
    21602: "empty body",
    21606: "'From' is not a number of this account",
    21610: "recipient unsubscribed (replied STOP)",
    21612: "cannot route to that number",
    21614: "'To' is not a mobile number",
    21617: "body over 1,600 characters",
}


def is_e164(number: str) -> bool:
    return E164.fullmatch(number) is not None


@dataclass(frozen=True)
class SmsRetry:
    """In-process retries of one send: at most `attempts` tries; waits double from `first_wait` up to
    `max_wait`, each jittered down by up to half; a Retry-After header replaces the computed wait; no more
    than `max_total_wait` seconds of waiting in all (a longer Retry-After ends the retries at once)."""

    attempts: int = 4
    first_wait: float = 1.0
    max_wait: float = 10.0
    max_total_wait: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.first_wait, self.max_wait, self.max_total_wait) < 0:
            raise ValueError("waits cannot be negative")

    def backoff(self, retry_number: int) -> float:
        """The wait before retry `retry_number` (1 for the first), jittered."""
        ceiling = min(self.max_wait, self.first_wait * 2.0 ** (retry_number - 1))
        return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class SmsConfig:
    """Twilio credentials and sender. `from_number` is E.164 or an alphanumeric sender ID; `api_url`
    points the client somewhere other than https://api.twilio.com (a proxy, a test stand-in)."""

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    api_url: str | None = None
    timeout: float = 10.0
    retry: SmsRetry = SmsRetry()

    def __post_init__(self) -> None:
        if not self.account_sid.strip():
            raise ValueError("account_sid is empty")
        if not self.auth_token.strip():
            raise ValueError("auth_token is empty")
        if not (is_e164(self.from_number) or _ALPHANUMERIC_SENDER.fullmatch(self.from_number)):
            raise ValueError("from_number must be an E.164 number or an alphanumeric sender ID")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        if self.api_url is not None:
            parts = urlsplit(self.api_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("api_url must be an http(s) URL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmsConfig:
        """From TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER and, optionally, TWILIO_API_URL."""
        env = os.environ if environ is None else environ
        names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
        missing = [name for name in names if not env.get(name, "").strip()]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return cls(
            account_sid=env["TWILIO_ACCOUNT_SID"].strip(),
            auth_token=env["TWILIO_AUTH_TOKEN"].strip(),
            from_number=env["TWILIO_FROM_NUMBER"].strip(),
            api_url=env.get("TWILIO_API_URL", "").strip() or None,
        )


class _Retryable(Exception):
    """A try that may succeed if repeated: 429, 5xx, no connection. `reason` is safe to log."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Transport(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """The client's aiohttp transport, plus: the configured timeout on every request (the stock client
    stores it but never passes it on), and 429 / 5xx / connection failures raised as `_Retryable` here,
    where the Retry-After header is still at hand (the client's exceptions drop the headers)."""

    async def request(self, method: str, uri: str, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        try:
            response = await super().request(method, uri, **kwargs)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            raise _Retryable(f"could not connect to Twilio ({type(error).__name__})") from None
        except TimeoutError:
            raise TransientDeliveryError(
                f"no answer from Twilio within {kwargs['timeout']:g} s; the SMS may have gone out"
            ) from None
        except aiohttp.ClientConnectionError as error:  # e.g. a pooled connection the server had closed
            raise _Retryable(f"connection to Twilio lost ({type(error).__name__})") from None
        except aiohttp.ClientError as error:
            raise TransientDeliveryError(f"HTTP failure talking to Twilio ({type(error).__name__})") from None
        status = int(response.status_code)
        if status == 429 or status >= 500:
            raise _Retryable(_describe(status, _error_code(response.text)), _retry_after(response.headers))
        return response


class SmsSender:
    """Sends one SMS per `send`; see the module docstring. Use `async with SmsSender(config) as sender` or
    call `aclose()` when done."""

    def __init__(self, config: SmsConfig) -> None:
        self._config = config
        self._transport: _Transport | None = None
        self._twilio: Any = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        transport, self._transport, self._twilio = self._transport, None, None
        if transport is not None:
            await transport.close()

    def _client(self) -> Any:
        if self._twilio is None:  # no await in here: concurrent first sends cannot build two
            config = self._config
            transport = _Transport(timeout=config.timeout)
            client = Client(config.account_sid, config.auth_token, http_client=transport)
            if config.api_url is not None:
                client.edge = None
                client.region = None
                client.api.base_url = config.api_url.rstrip("/")
            self._transport, self._twilio = transport, client
        return self._twilio

    async def send(self, to: str, body: str) -> str:
        """Send `body` (cut to 1,600 characters at a word boundary if longer) to `to` (E.164); the message
        SID. Raises `PermanentDeliveryError` (bad number, refused by Twilio) or `TransientDeliveryError`."""
        if not is_e164(to):
            raise PermanentDeliveryError("the recipient is not an E.164 phone number")
        text = fit_sms(body, SMS_LIMIT)
        if not text.strip():
            raise PermanentDeliveryError("the SMS body is empty")
        if len(text) < len(body):
            log.info("SMS body cut from %d to %d characters", len(body), len(text))
        client = self._client()
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            stop=self._stop,
            before_sleep=self._log_retry,
            reraise=True,
        )
        tries = 0
        try:
            async for attempt in retrying:
                tries += 1
                with attempt:
                    message = await client.messages.create_async(to=to, from_=self._config.from_number, body=text)
        except _Retryable as failure:
            log.warning("Twilio did not take an SMS after %d tries: %s", tries, failure.reason)
            hint = f"; retry after {failure.retry_after:g} s" if failure.retry_after is not None else ""
            message_text = f"Twilio did not take the SMS ({tries} tries): {failure.reason}{hint}"
            raise TransientDeliveryError(message_text) from None
        except TwilioException as error:
            raise _refusal(error) from None
        except ValueError as error:  # a 2xx answer that is not the JSON resource
            raise TransientDeliveryError(f"unreadable answer from Twilio ({type(error).__name__})") from None
        sid = str(message.sid)
        log.info("SMS %s accepted by Twilio", sid)
        return sid

    # -- tenacity hooks ---------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after
        return self._config.retry.backoff(state.attempt_number)

    def _stop(self, state: RetryCallState) -> bool:
        retry = self._config.retry
        return state.attempt_number >= retry.attempts or state.idle_for + state.upcoming_sleep > retry.max_total_wait

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        reason = error.reason if isinstance(error, _Retryable) else type(error).__name__
        log.warning(
            "SMS try %d of %d failed (%s); retrying in %.2f s",
            state.attempt_number,
            self._config.retry.attempts,
            reason,
            state.upcoming_sleep,
        )


def _describe(status: int, code: int | None) -> str:
    text = f"HTTP {status}"
    if code is not None:
        text += f", Twilio error {code}"
        if code in _TWILIO_CODES:
            text += f" ({_TWILIO_CODES[code]})"
    return text


def _refusal(error: TwilioException) -> ChannelError:
    """Our error for a non-retryable answer from Twilio: only its status and code, never its message."""
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    if not isinstance(status, int):
        return TransientDeliveryError(f"Twilio client error ({type(error).__name__})")
    describe = _describe(status, code if isinstance(code, int) else None)
    if status == 401:
        log.error("Twilio rejected our credentials (%s): check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN", describe)
        return TransientDeliveryError(f"Twilio rejected our credentials: {describe}")
    if 400 <= status < 500:
        return PermanentDeliveryError(f"Twilio refused the SMS: {describe}")
    return TransientDeliveryError(f"unexpected answer from Twilio: {describe}")


def _error_code(text: str) -> int | None:
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) else None


def _retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = headers.get("Retry-After") if headers is not None else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
