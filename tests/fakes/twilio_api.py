"""A local Twilio REST API (Programmable Messaging) for tests, used through the real `twilio` client.

How the client is redirected: twilio 9 has no base-URL argument. Each API domain of the client is a
`twilio.base.domain.Domain` whose `base_url` attribute ("https://api.twilio.com" for `client.api`) is read on
every request, so setting `client.api.base_url = twilio_api.url` sends everything under `client.api` (and so
`client.messages`, which is `client.api.account.messages`) to the stand-in, through the client's own
`TwilioHttpClient` (requests) or `AsyncTwilioHttpClient` (aiohttp) with its auth, headers and error handling
untouched. `twilio_client_for(twilio_api)` does that and two more things:

* clears `client.edge` / `client.region`: the client reads TWILIO_EDGE / TWILIO_REGION from the environment
  (also when given `environment={}`, which is falsy, so `os.environ` is used) and would then rewrite the host
  as `api.<edge>.<region>.twilio.com` pieces, mangling `127.0.0.1:PORT`;
* turns off `trust_env` on the sync client's requests session, so an HTTP(S)_PROXY in the environment cannot
  capture traffic meant for 127.0.0.1.

    with TwilioApi() as twilio_api:                       # or the `twilio_api` fixture
        client = twilio_client_for(twilio_api)
        message = client.messages.create(to="+447700900123", from_=twilio_api.from_number, body="Hi")
        twilio_api.sms                                    # [SentSms(to=..., from_=..., body="Hi")]

For async code pass an `AsyncTwilioHttpClient` (create it inside a running loop: it opens an aiohttp session)
and close it after: `client = twilio_client_for(twilio_api, http_client=AsyncTwilioHttpClient())`, then
`await client.messages.create_async(...)` and `await client.http_client.close()`.

Endpoints: POST/GET `/2010-04-01/Accounts/{AccountSid}/Messages.json` (send, list) and GET
`.../Messages/{Sid}.json` (fetch). Basic auth must be the account SID and auth token (else 401, code 20003);
the SID in the path must be the account's (else 404, code 20404). Sending validates like Twilio: To in E.164
(optionally `whatsapp:`-prefixed) or error 21211, a From or MessagingServiceSid (21603), a Body or MediaUrl
or ContentSid (21602), Body at most 1,600 characters (21617), a number blocked by STOP (21610, see
`block()`), and when `from_numbers` is given, a From the account owns (21606). A good message answers 201 with
the message resource (sid "SM" + 32 hex, status "queued", or "accepted" through a messaging service,
num_segments counted as GSM-7 or UCS-2). Errors are Twilio's JSON: `{"code", "message", "more_info",
"status"}`, which the client raises as `TwilioRestException` (`.status`, `.code`, `.msg`).
`fail_next(429)` answers code 20429 and `fail_next(500)` / `(503)` codes 20500 / 20503.

Fixture: `twilio_api` (a running `TwilioApi`). A test module outside tests/fakes brings it in with
`from tests.fakes.twilio_api import twilio_api_fixture  # noqa: F401`.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, NamedTuple

import pytest
import requests
from aiohttp import web
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes import Failure, FakeApiServer, RecordedRequest

__all__ = ["SentSms", "TwilioApi", "count_segments", "twilio_api_fixture", "twilio_client_for"]

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "wedsync-test-auth-token-0000000000"
DEFAULT_FROM = "+15005550006"
API_VERSION = "2010-04-01"
MAX_BODY = 1600

E164 = re.compile(r"\+[1-9]\d{1,14}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
TWILIO_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number: {value}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({value}) is not a valid message-capable Twilio phone number for this "
    "destination/account.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


class SentSms(NamedTuple):
    to: str
    from_: str | None
    body: str


def count_segments(body: str) -> int:
    """SMS segments for `body`: GSM-7 (160, or 153 per part; extension characters count twice) or UCS-2
    (70, or 67 per part; characters outside the BMP count twice)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        units, single, part = sum(2 if c in GSM7_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, part = sum(2 if ord(c) > 0xFFFF else 1 for c in body), 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def _number(value: str) -> str:
    return value.split(":", 1)[1] if value.startswith(("whatsapp:", "sms:")) else value


class TwilioRestError(Exception):
    def __init__(self, status: int, code: int, **fields: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.fields = fields


class TwilioApi(FakeApiServer):
    """Twilio's Messages API on 127.0.0.1; see the module docstring."""

    name = "fake-twilio"

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        from_number: str = DEFAULT_FROM,
        from_numbers: Iterable[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """`from_number`: the number tests send from; `from_numbers`: when given, the only From numbers the
        account owns (others answer 21606); by default any E.164 From is accepted."""
        super().__init__(host=host)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.from_numbers = set(from_numbers) if from_numbers is not None else None
        self._messages: dict[str, dict[str, Any]] = {}
        self._blocked: set[str] = set()

    def reset(self) -> None:
        self._messages.clear()
        self._blocked.clear()

    # -- what tests use ------------------------------------------------------------------------------------

    @property
    def sms(self) -> list[SentSms]:
        """Messages accepted so far as (to, from_, body), oldest first."""
        with self.lock:
            return [SentSms(m["to"], m["from"], m["body"]) for m in self._messages.values()]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message resources accepted so far (as last answered), oldest first."""
        with self.lock:
            return copy.deepcopy(list(self._messages.values()))

    def set_status(self, sid: str, status: str, *, error_code: int | None = None) -> None:
        """Move a message on (sent, delivered, undelivered, failed...) for later fetches."""
        with self.lock:
            message = self._messages[sid]
            message["status"] = status
            message["error_code"] = error_code
            message["error_message"] = TWILIO_MESSAGES.get(error_code or 0) if error_code else None
            message["date_updated"] = format_datetime(datetime.now(UTC))
            if status in ("sent", "delivered"):
                message["date_sent"] = message["date_updated"]

    def block(self, number: str) -> None:
        """Make `number` one that replied STOP: sending to it answers error 21610."""
        with self.lock:
            self._blocked.add(number)

    # -- HTTP ---------------------------------------------------------------------------------------------

    def _error_body(self, status: int, code: int, **fields: str) -> dict[str, Any]:
        return {
            "code": code,
            "message": TWILIO_MESSAGES.get(code, "Error").format(**fields)
            if fields
            else TWILIO_MESSAGES.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def failure_response(self, failure: Failure, request: RecordedRequest) -> web.StreamResponse:
        code = {429: 20429, 503: 20503}.get(failure.status, 20500 if failure.status >= 500 else 20000 + failure.status)
        return self.render_failure(failure, self._error_body(failure.status, code))

    async def handle(self, request: RecordedRequest) -> web.StreamResponse:
        try:
            body, status = self._route(request)
        except TwilioRestError as error:
            body, status = self._error_body(error.status, error.code, **error.fields), error.status
        return web.json_response(body, status=status, headers={"Twilio-Request-Id": "RQ" + uuid.uuid4().hex})

    def _route(self, request: RecordedRequest) -> tuple[dict[str, Any], int]:
        match = re.fullmatch(rf"/{API_VERSION}/Accounts/([^/]+)/Messages(?:/(SM[0-9a-f]{{32}}))?\.json", request.path)
        if match is None:
            raise TwilioRestError(404, 20404, path=request.path)
        if not self._authorised(request):
            raise TwilioRestError(401, 20003)
        if match.group(1) != self.account_sid:
            raise TwilioRestError(404, 20404, path=request.path)
        sid = match.group(2)
        with self.lock:
            if sid is not None and request.method == "GET":
                if sid not in self._messages:
                    raise TwilioRestError(404, 20404, path=request.path)
                return copy.deepcopy(self._messages[sid]), 200
            if sid is None and request.method == "GET":
                return self._list(request), 200
            if sid is None and request.method == "POST":
                return self._create(request.params), 201
        raise TwilioRestError(405, 20004)

    def _authorised(self, request: RecordedRequest) -> bool:
        header = request.header("authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _list(self, request: RecordedRequest) -> dict[str, Any]:
        page_size = int(request.query.get("PageSize", 50))
        found = [
            m
            for m in reversed(self._messages.values())  # newest first, as Twilio lists
            if all(request.query.get(key) in (None, m[field]) for key, field in (("To", "to"), ("From", "from")))
        ]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json?PageSize={page_size}&Page=0"
        return {
            "messages": copy.deepcopy(found[:page_size]),
            "end": max(0, min(page_size, len(found)) - 1),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        }

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        to = params.get("To")
        from_ = params.get("From")
        service = params.get("MessagingServiceSid")
        body = params.get("Body")
        media = params.get("MediaUrl")
        media_urls = media if isinstance(media, list) else [media] if media else []
        if not to:
            raise TwilioRestError(400, 21604)
        if not isinstance(to, str) or not E164.fullmatch(_number(to)):
            raise TwilioRestError(400, 21211, value=str(to))
        if not from_ and not service:
            raise TwilioRestError(400, 21603)
        if from_:
            # an E.164 number or an alphanumeric sender ID
            well_formed = isinstance(from_, str) and bool(
                E164.fullmatch(_number(from_)) or ALPHANUMERIC_SENDER.fullmatch(from_)
            )
            if not well_formed or (self.from_numbers is not None and from_ not in self.from_numbers):
                raise TwilioRestError(400, 21606, value=str(from_))
        if not body and not media_urls and not params.get("ContentSid"):
            raise TwilioRestError(400, 21602)
        body = body if isinstance(body, str) else ""
        if len(body) > MAX_BODY:
            raise TwilioRestError(400, 21617)
        if _number(to) in self._blocked or to in self._blocked:
            raise TwilioRestError(400, 21610)
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": service or None,
            "num_media": str(len(media_urls)),
            "num_segments": str(count_segments(body)) if body else "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": uri,
        }
        self._messages[sid] = message
        return copy.deepcopy(message)


def twilio_client_for(
    api: TwilioApi,
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    http_client: HttpClient | None = None,
) -> Client:
    """A real `twilio.rest.Client` whose `api` domain (Messages and every other 2010-04-01 resource) is the
    stand-in; credentials default to the stand-in's own. See the module docstring for why each step."""
    if http_client is None:
        http_client = TwilioHttpClient(timeout=10)
    session = getattr(http_client, "session", None)
    if isinstance(session, requests.Session):  # aiohttp sessions ignore the environment by default
        session.trust_env = False
    client = Client(account_sid or api.account_sid, auth_token or api.auth_token, http_client=http_client)
    client.edge = None
    client.region = None
    client.api.base_url = api.url
    return client


@pytest.fixture(name="twilio_api")
def twilio_api_fixture() -> Iterator[TwilioApi]:
    """A running `TwilioApi` (see `twilio_client_for`), stopped after the test."""
    with TwilioApi() as api:
        yield api
