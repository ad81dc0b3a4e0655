"""The Twilio stand-in, exercised through the real twilio client (sync and async HTTP clients)."""

from __future__ import annotations

import base64

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.fakes.twilio_api import TwilioApi, count_segments, twilio_client_for

TO = "+447700900123"


@pytest.fixture
def client(twilio_api: TwilioApi) -> Client:
    return twilio_client_for(twilio_api)


def test_sending_an_sms_answers_a_queued_message_resource(twilio_api: TwilioApi, client: Client) -> None:
    message = client.messages.create(to=TO, from_=twilio_api.from_number, body="Your ticket BIL-1042 is escalated")
    assert message.sid is not None and message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (
        TO,
        twilio_api.from_number,
        "Your ticket BIL-1042 is escalated",
    )
    assert message.num_segments == "1"
    assert message.account_sid == twilio_api.account_sid
    assert message.direction == "outbound-api"
    assert message.date_created is not None  # parsed from Twilio's RFC 2822 date
    assert twilio_api.sms == [(TO, twilio_api.from_number, "Your ticket BIL-1042 is escalated")]


def test_the_request_is_a_form_post_with_basic_auth(twilio_api: TwilioApi, client: Client) -> None:
    client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    [request] = twilio_api.calls("Messages.json")
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.body == {"To": TO, "From": twilio_api.from_number, "Body": "Hi"}
    credentials = f"{twilio_api.account_sid}:{twilio_api.auth_token}".encode()
    assert request.header("Authorization") == "Basic " + base64.b64encode(credentials).decode()
    assert (request.header("User-Agent") or "").startswith("twilio-python/")


@pytest.mark.parametrize("to", ["07700900123", "+44 7700 900123", "447700900123", "+0123456", "+4477009001234567"])
def test_a_to_number_not_in_e164_is_error_21211(twilio_api: TwilioApi, client: Client, to: str) -> None:
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=to, from_=twilio_api.from_number, body="Hi")
    assert (info.value.status, info.value.code) == (400, 21211)
    assert to in info.value.msg
    assert twilio_api.sms == []
    [request] = twilio_api.requests
    assert request.response["more_info"] == "https://www.twilio.com/docs/errors/21211"


def test_the_body_limit_is_1600_characters(twilio_api: TwilioApi, client: Client) -> None:
    longest = client.messages.create(to=TO, from_=twilio_api.from_number, body="x" * 1600)
    assert longest.num_segments == str(-(-1600 // 153))
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=TO, from_=twilio_api.from_number, body="x" * 1601)
    assert (info.value.status, info.value.code) == (400, 21617)
    assert len(twilio_api.sms) == 1


def test_segments_are_counted_as_gsm7_or_ucs2() -> None:
    assert count_segments("x" * 160) == 1
    assert count_segments("x" * 161) == 2
    assert count_segments("€" * 80) == 1  # an extension character takes two septets
    assert count_segments("€" * 81) == 2
    assert count_segments("ł" * 70) == 1  # not GSM-7: UCS-2
    assert count_segments("ł" * 71) == 2
    assert count_segments("💍" * 35) == 1  # outside the BMP: two UTF-16 units
    assert count_segments("💍" * 36) == 2


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "", "from_": "+15005550006", "body": "Hi"}, 21604),
        ({"to": TO, "body": "Hi"}, 21603),
        ({"to": TO, "from_": "+15005550006"}, 21602),
        ({"to": TO, "from_": "not a number!", "body": "Hi"}, 21606),
    ],
)
def test_missing_or_bad_fields_answer_twilio_errors(client: Client, fields: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(**fields)
    assert (info.value.status, info.value.code) == (400, code)


def test_a_messaging_service_and_owned_numbers() -> None:
    with TwilioApi(from_numbers={"+15005550006"}) as api:
        client = twilio_client_for(api)
        via_service = client.messages.create(to=TO, messaging_service_sid="MG" + "0" * 32, body="Hi")
        assert via_service.status == "accepted" and via_service.from_ is None
        with pytest.raises(TwilioRestException) as info:
            client.messages.create(to=TO, from_="+15005550001", body="Hi")
        assert info.value.code == 21606


def test_a_blocked_number_is_error_21610(twilio_api: TwilioApi, client: Client) -> None:
    twilio_api.block(TO)
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert info.value.code == 21610


def test_wrong_credentials_are_401_code_20003(twilio_api: TwilioApi) -> None:
    client = twilio_client_for(twilio_api, auth_token="not-the-token")
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert (info.value.status, info.value.code) == (401, 20003)
    other_account = twilio_client_for(twilio_api, account_sid="AC" + "f" * 32)
    with pytest.raises(TwilioRestException) as wrong_sid:
        other_account.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert wrong_sid.value.status == 401
    assert twilio_api.sms == []


def test_a_429_is_code_20429_with_retry_after(twilio_api: TwilioApi, client: Client) -> None:
    twilio_api.fail_next(429, retry_after=2)
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert (info.value.status, info.value.code) == (429, 20429)
    [request] = twilio_api.requests
    assert request.status == 429 and request.injected == ["fail"]
    assert client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi").status == "queued"


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
def test_server_errors_use_twilio_codes(twilio_api: TwilioApi, client: Client, status: int, code: int) -> None:
    twilio_api.fail_next(status)
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert (info.value.status, info.value.code) == (status, code)
    assert twilio_api.sms == []


def test_a_slow_answer_times_out_the_requests_client(twilio_api: TwilioApi) -> None:
    twilio_api.slow_next(2.0)
    client = twilio_client_for(twilio_api, http_client=TwilioHttpClient(timeout=0.3))
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")


def test_fetch_and_list_after_a_status_change(twilio_api: TwilioApi, client: Client) -> None:
    sent = client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi")
    assert sent.sid is not None
    twilio_api.set_status(sent.sid, "delivered")
    fetched = client.messages(sent.sid).fetch()
    assert fetched.status == "delivered" and fetched.date_sent is not None
    client.messages.create(to="+447700900999", from_=twilio_api.from_number, body="Other")
    assert [m.body for m in client.messages.list(to=TO)] == ["Hi"]
    assert [m.body for m in client.messages.list()] == ["Other", "Hi"]
    with pytest.raises(TwilioRestException) as info:
        client.messages("SM" + "0" * 32).fetch()
    assert info.value.status == 404


def test_twilio_edge_in_the_environment_does_not_redirect_the_client(
    twilio_api: TwilioApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    client = twilio_client_for(twilio_api)
    assert client.messages.create(to=TO, from_=twilio_api.from_number, body="Hi").status == "queued"


@pytest.mark.filterwarnings("ignore:.*is deprecated and will be removed in.*4:DeprecationWarning")  # twilio's BasicAuth
async def test_the_async_client_sends_and_retries_server_errors(twilio_api: TwilioApi) -> None:
    http_client = AsyncTwilioHttpClient(max_retries=3)  # aiohttp-retry: retries 5xx answers
    client = twilio_client_for(twilio_api, http_client=http_client)
    try:
        twilio_api.fail_next(500)
        message = await client.messages.create_async(to=TO, from_=twilio_api.from_number, body="Async hi")
        assert message.status == "queued"
        assert [r.status for r in twilio_api.requests] == [500, 201]
        with pytest.raises(TwilioRestException) as info:
            await client.messages.create_async(to="nope", from_=twilio_api.from_number, body="Hi")
        assert info.value.code == 21211
    finally:
        await http_client.close()
    assert twilio_api.sms == [(TO, twilio_api.from_number, "Async hi")]
