"""The SMS channel: SmsSender through the real twilio client against the Twilio stand-in, and the pure rules
(fitting, grouping, throttle, quiet hours)."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException

from channels.errors import PermanentDeliveryError, TransientDeliveryError
from channels.sms import SmsConfig, SmsRetry, SmsSender
from channels.sms_policy import (
    Alert,
    AlertKind,
    QuietHours,
    SmsThrottle,
    fit_sms,
    group_alerts,
    should_send_now,
)
from tests.fakes.twilio_api import SentSms, TwilioApi, twilio_api_fixture, twilio_client_for  # noqa: F401
from ticketing.model import Priority

# The twilio client's aiohttp transport still passes `auth=BasicAuth(...)`, which aiohttp deprecates; theirs to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

MANAGER = "+447700900123"
FAST = SmsRetry(attempts=4, first_wait=0.01, max_wait=0.05, max_total_wait=5.0)
LONDON = ZoneInfo("Europe/London")
NIGHT = QuietHours(time(22, 0), time(7, 0), "Europe/London")


def config_for(api: TwilioApi, **overrides: Any) -> SmsConfig:
    config = SmsConfig(api.account_sid, api.auth_token, api.from_number, api_url=api.url, timeout=5.0, retry=FAST)
    return replace(config, **overrides)


@asynccontextmanager
async def sender_for(api: TwilioApi, **overrides: Any) -> AsyncIterator[SmsSender]:
    async with SmsSender(config_for(api, **overrides)) as sender:
        yield sender


def posts(api: TwilioApi) -> list[int | None]:
    return [r.status for r in api.calls("POST")]


# --- the sender against the stand-in ---------------------------------------------------------------------


async def test_an_sms_arrives_with_the_right_to_from_body_and_credentials(twilio_api: TwilioApi) -> None:
    async with sender_for(twilio_api) as sender:
        sid = await sender.send(MANAGER, "BIL-1 breached (critical, billing)")
    assert twilio_api.sms == [SentSms(MANAGER, twilio_api.from_number, "BIL-1 breached (critical, billing)")]
    assert sid == twilio_api.messages[0]["sid"]
    (request,) = twilio_api.calls("POST")
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json"
    credentials = base64.b64decode((request.header("authorization") or "")[len("Basic ") :]).decode()
    assert credentials == f"{twilio_api.account_sid}:{twilio_api.auth_token}"


async def test_twilio_edge_and_region_in_the_environment_do_not_take_the_client_away_from_api_url(
    twilio_api: TwilioApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, "one")
        await sender.send(MANAGER, "two")  # the same client and session, still pointed at the stand-in
    assert [sms.body for sms in twilio_api.sms] == ["one", "two"]


async def test_two_429s_then_success_are_retried_and_the_sms_is_delivered_once(twilio_api: TwilioApi) -> None:
    twilio_api.fail_next(429, times=2, retry_after=0)
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, "escalated to level 2")
    assert posts(twilio_api) == [429, 429, 201]
    assert len(twilio_api.sms) == 1


async def test_the_wait_a_429_asks_for_in_retry_after_is_honoured(twilio_api: TwilioApi) -> None:
    twilio_api.fail_next(429, retry_after=1)
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, "hello")
    first, second = twilio_api.calls("POST")
    assert second.monotonic - first.monotonic >= 0.95  # FAST's own backoff is at most 0.05 s
    assert len(twilio_api.sms) == 1


async def test_a_retry_after_longer_than_the_wait_budget_ends_the_retries_at_once(twilio_api: TwilioApi) -> None:
    twilio_api.fail_next(429, retry_after=60)
    async with sender_for(twilio_api) as sender:
        with pytest.raises(TransientDeliveryError, match=r"20429.*retry after 60 s"):
            await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [429]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_then_success_is_retried(twilio_api: TwilioApi, status: int) -> None:
    twilio_api.fail_next(status, retry_after=None)
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [status, 201]
    assert len(twilio_api.sms) == 1


async def test_server_errors_past_the_last_attempt_raise_transient(twilio_api: TwilioApi) -> None:
    twilio_api.fail_next(500, times=10)
    async with sender_for(twilio_api, retry=replace(FAST, attempts=3)) as sender:
        with pytest.raises(TransientDeliveryError, match=r"3 tries.*HTTP 500, Twilio error 20500"):
            await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [500, 500, 500]
    assert twilio_api.sms == []


async def test_an_unreachable_twilio_is_retried_then_raises_transient(
    twilio_api: TwilioApi, caplog: pytest.LogCaptureFixture
) -> None:
    twilio_api.stop()  # the port is closed: connections are refused
    caplog.set_level(logging.WARNING, logger="channels.sms")
    async with sender_for(twilio_api) as sender:
        with pytest.raises(TransientDeliveryError, match="could not connect"):
            await sender.send(MANAGER, "hello")
    assert caplog.text.count("retrying in") == FAST.attempts - 1


async def test_an_answer_slower_than_the_timeout_is_not_retried_as_the_sms_may_have_gone_out(
    twilio_api: TwilioApi,
) -> None:
    twilio_api.slow_next(2.0)
    async with sender_for(twilio_api, timeout=0.3) as sender:
        with pytest.raises(TransientDeliveryError, match="may have gone out"):
            await sender.send(MANAGER, "hello")
    assert len(twilio_api.calls("POST")) == 1


async def test_an_invalid_number_refused_by_twilio_raises_permanent_and_is_not_retried(
    twilio_api: TwilioApi,
) -> None:
    # E.164-shaped but not a real number: only Twilio can tell, with 21211 (its message quotes the number).
    refusal = {"code": 21211, "message": f"Invalid 'To' Phone Number: {MANAGER}", "more_info": "", "status": 400}
    twilio_api.fail_next(400, body=refusal)
    async with sender_for(twilio_api) as sender:
        with pytest.raises(PermanentDeliveryError, match="21211") as caught:
            await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [400]
    assert MANAGER not in str(caught.value) and caught.value.__suppress_context__


async def test_a_number_that_replied_stop_raises_permanent_with_code_21610(twilio_api: TwilioApi) -> None:
    twilio_api.block(MANAGER)
    async with sender_for(twilio_api) as sender:
        with pytest.raises(PermanentDeliveryError, match=r"21610 \(recipient unsubscribed"):
            await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [400]


@pytest.mark.parametrize("number", ["07700900123", "+44 7700 900123", "+0447700900123", "+4477009001234567", "", "+"])
async def test_a_number_not_in_e164_is_refused_before_any_request(twilio_api: TwilioApi, number: str) -> None:
    async with sender_for(twilio_api) as sender:
        with pytest.raises(PermanentDeliveryError, match=r"E\.164") as caught:
            await sender.send(number, "hello")
    assert twilio_api.requests == []
    assert not number or number not in str(caught.value)


async def test_wrong_credentials_raise_transient_without_retrying(twilio_api: TwilioApi) -> None:
    async with sender_for(twilio_api, auth_token="not-the-token") as sender:
        with pytest.raises(TransientDeliveryError, match=r"credentials.*20003"):
            await sender.send(MANAGER, "hello")
    assert posts(twilio_api) == [401]


async def test_the_stand_in_refuses_1601_characters_with_21617(twilio_api: TwilioApi) -> None:
    client = twilio_client_for(twilio_api)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=MANAGER, from_=twilio_api.from_number, body="x" * 1601)
    assert caught.value.code == 21617


async def test_a_body_over_1600_characters_is_cut_at_a_word_before_sending(twilio_api: TwilioApi) -> None:
    body = "SLA breached on BIL-1. " * 300
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, body)
    assert posts(twilio_api) == [201]  # never a 21617
    (sms,) = twilio_api.sms
    kept = sms.body.removesuffix("…")
    assert len(sms.body) <= 1600 and sms.body.endswith("…")
    assert body.startswith(kept) and body[len(kept)] == " "  # cut between words


async def test_the_auth_token_numbers_and_bodies_never_appear_in_logs_or_errors(
    twilio_api: TwilioApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = "Secret-ish body about BIL-1"
    errors: list[BaseException] = []
    twilio_api.fail_next(429, retry_after=0)
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, body)
        twilio_api.fail_next(500, times=4)
        twilio_api.fail_next(400, body={"code": 21211, "message": f"Invalid {MANAGER}", "status": 400}, times=1)
        for _ in range(2):
            with pytest.raises((TransientDeliveryError, PermanentDeliveryError)) as caught:
                await sender.send(MANAGER, body)
            errors.append(caught.value)
    async with sender_for(twilio_api, auth_token="wrong-token-XYZ") as sender:
        with pytest.raises(TransientDeliveryError) as caught:
            await sender.send(MANAGER, body)
        errors.append(caught.value)
    assert "Response Status Code" in caplog.text  # the twilio client's own logging was captured too
    seen = caplog.text + " ".join(f"{e} {e!r}" for e in errors) + repr(config_for(twilio_api))
    for secret in (twilio_api.auth_token, "wrong-token-XYZ", MANAGER, MANAGER[1:], body):
        assert secret not in seen


def test_the_config_hides_the_auth_token_and_reads_the_environment() -> None:
    env = {
        "TWILIO_ACCOUNT_SID": "AC123",
        "TWILIO_AUTH_TOKEN": "tok-123",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_URL": "http://127.0.0.1:9/",
    }
    config = SmsConfig.from_env(env)
    assert (config.account_sid, config.from_number, config.api_url) == ("AC123", "+15005550006", env["TWILIO_API_URL"])
    assert "tok-123" not in repr(config)
    assert SmsConfig.from_env({**env, "TWILIO_API_URL": ""}).api_url is None
    with pytest.raises(ValueError, match="missing TWILIO_AUTH_TOKEN") as caught:
        SmsConfig.from_env({**env, "TWILIO_AUTH_TOKEN": ""})
    assert "AC123" not in str(caught.value)
    with pytest.raises(ValueError, match="from_number"):
        SmsConfig("AC123", "tok", "07700 900123")


async def test_two_hundred_grouped_alerts_go_out_as_one_sms_within_the_limit(twilio_api: TwilioApi) -> None:
    alerts = [alert(f"BIL-{n:03d}", minutes=n, summary="breached (high, billing) " * 3) for n in range(200)]
    async with sender_for(twilio_api) as sender:
        await sender.send(MANAGER, group_alerts(alerts))
    (sms,) = twilio_api.sms
    assert sms.body.startswith("200 alerts: BIL-000") and len(sms.body) <= 1600
    assert sms.body.endswith(" more")


# --- fit_sms -----------------------------------------------------------------------------------------------


def test_a_text_within_the_limit_is_left_alone() -> None:
    assert fit_sms("short") == "short"
    assert fit_sms("x" * 1600) == "x" * 1600


def test_a_long_text_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    assert fit_sms("alpha beta gamma delta", limit=13) == "alpha beta…"
    assert fit_sms("alpha, beta; gamma", limit=14) == "alpha, beta…"  # no dangling separator


def test_one_enormous_word_is_cut_mid_word_rather_than_lost() -> None:
    text = "see https://example.com/" + "a" * 3000
    result = fit_sms(text)
    assert len(result) == 1600 and result.startswith("see https://example.com/aaa") and result.endswith("a…")


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_fit_sms_never_exceeds_the_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    result = fit_sms(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    else:
        assert result.endswith("…") and text.startswith(result.removesuffix("…"))


# --- group_alerts ------------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def alert(
    ticket: str,
    kind: AlertKind = AlertKind.SLA_BREACH,
    priority: Priority = Priority.HIGH,
    minutes: int = 0,
    summary: str = "breached",
) -> Alert:
    return Alert(ticket, kind, priority, summary, T0 + timedelta(minutes=minutes))


def test_grouped_alerts_come_most_severe_first() -> None:
    alerts = [
        alert("TKT-LOW", priority=Priority.LOW, summary="breached (low, general)"),
        alert("FB-ESC", AlertKind.ESCALATION, Priority.CRITICAL, summary="escalated to level 2"),
        alert("BIL-NEW", priority=Priority.CRITICAL, minutes=5, summary="breached (critical, billing)"),
        alert("BIL-OLD", priority=Priority.CRITICAL, minutes=1, summary="breached (critical, billing)"),
    ]
    assert group_alerts(alerts) == (
        "4 alerts: BIL-OLD breached (critical, billing); BIL-NEW breached (critical, billing); "
        "FB-ESC escalated to level 2; TKT-LOW breached (low, general)"
    )


def test_one_alert_is_its_own_message_on_one_line() -> None:
    one = alert("BIL-1", summary="breached\n(critical,\tbilling)")
    assert group_alerts([one]) == "BIL-1 breached (critical, billing)"


def test_alerts_beyond_1600_characters_are_counted_as_and_n_more() -> None:
    alerts = [alert(f"BIL-{n:03d}", minutes=n, summary="breached (high, billing) " + "x" * 40) for n in range(100)]
    text = group_alerts(alerts)
    assert len(text) <= 1600
    shown = text.count("BIL-")
    assert shown < 100 and text.endswith(f"; and {100 - shown} more")
    assert f"BIL-{shown - 1:03d}" in text and f"BIL-{shown:03d}" not in text  # the most severe are shown


def test_a_first_alert_too_long_for_the_message_is_cut_and_the_rest_counted() -> None:
    text = group_alerts([alert("BIL-1", summary="y " * 2000), alert("BIL-2", minutes=1)])
    assert len(text) <= 1600 and text.startswith("2 alerts: BIL-1 y y") and text.endswith("…; and 1 more")


def test_grouping_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        group_alerts([])


# --- throttle ----------------------------------------------------------------------------------------------


def test_a_second_sms_about_the_same_ticket_14_minutes_later_is_held() -> None:
    assert not SmsThrottle().may_send("UMANAGER01", "BIL-1", T0 + timedelta(minutes=14), last_sent=T0)


def test_a_second_sms_about_the_same_ticket_15_minutes_later_may_go() -> None:
    throttle = SmsThrottle()
    assert throttle.may_send("UMANAGER01", "BIL-1", T0 + timedelta(minutes=15), last_sent=T0)
    assert throttle.next_allowed(T0) == T0 + timedelta(minutes=15)


def test_a_first_sms_may_always_go_and_the_window_can_be_changed() -> None:
    throttle = SmsThrottle()
    assert throttle.may_send("UMANAGER01", "BIL-1", T0, last_sent=None)
    assert not throttle.may_send("U1", "BIL-1", T0 + timedelta(minutes=20), T0, window=timedelta(minutes=30))


# --- quiet hours -------------------------------------------------------------------------------------------


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(21, 59, False), (22, 0, True), (23, 30, True), (0, 0, True), (6, 59, True), (7, 0, False), (12, 0, False)],
)
def test_quiet_hours_cross_midnight(hour: int, minute: int, quiet: bool) -> None:
    assert NIGHT.is_quiet(london(2026, 11, 20, hour, minute)) is quiet


def test_quiet_hours_follow_the_persons_timezone_not_utc() -> None:
    new_york = QuietHours(time(22), time(7), "America/New_York")
    assert new_york.is_quiet(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))  # 23:00 in New York
    assert not NIGHT.is_quiet(datetime(2026, 11, 20, 4, 0, tzinfo=UTC) + timedelta(hours=4))  # 08:00 London


def test_an_evening_alert_is_held_until_seven_the_next_morning() -> None:
    assert NIGHT.next_allowed(london(2026, 11, 20, 23)) == london(2026, 11, 21, 7)
    assert NIGHT.next_allowed(london(2026, 11, 21, 3)) == london(2026, 11, 21, 7)
    assert NIGHT.next_allowed(london(2026, 11, 21, 12)) == london(2026, 11, 21, 12)


def test_the_night_the_clocks_go_forward_ends_at_seven_local_after_seven_hours() -> None:
    evening = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 23:00 GMT; at 01:00 UTC clocks go forward to BST
    allowed = NIGHT.next_allowed(evening)
    assert allowed == datetime(2026, 3, 29, 6, 0, tzinfo=UTC) and allowed - evening == timedelta(hours=7)
    assert allowed.astimezone(LONDON).time() == time(7)


def test_the_night_the_clocks_go_back_ends_at_seven_local_after_ten_hours() -> None:
    evening = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # 22:00 BST; at 01:00 UTC clocks go back to GMT
    allowed = NIGHT.next_allowed(evening)
    assert allowed == datetime(2026, 10, 25, 7, 0, tzinfo=UTC) and allowed - evening == timedelta(hours=10)


def test_quiet_hours_ending_in_the_skipped_hour_end_when_the_clock_jumps() -> None:
    small_hours = QuietHours(time(0, 30), time(1, 30), "Europe/London")  # 01:30 does not exist on 29 March
    allowed = small_hours.next_allowed(datetime(2026, 3, 29, 0, 45, tzinfo=UTC))
    assert allowed == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 BST, the first moment past 01:30
    assert not small_hours.is_quiet(allowed) and small_hours.is_quiet(allowed - timedelta(seconds=1))


def test_daytime_quiet_hours_do_not_cross_midnight() -> None:
    lunch = QuietHours(time(12), time(13), "Europe/London")
    assert lunch.is_quiet(london(2026, 11, 20, 12, 30)) and not lunch.is_quiet(london(2026, 11, 20, 23))
    assert lunch.next_allowed(london(2026, 11, 20, 12, 30)) == london(2026, 11, 20, 13)


def test_quiet_hours_refuse_equal_times_unknown_zones_and_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        QuietHours(time(7), time(7), "Europe/London")
    with pytest.raises(ValueError, match="unknown timezone"):
        QuietHours(time(22), time(7), "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="timezone-aware"):
        NIGHT.is_quiet(datetime(2026, 11, 20, 23, 0))


def test_a_critical_ticket_overrides_quiet_hours() -> None:
    assert should_send_now(NIGHT, london(2026, 11, 20, 23), critical=True)


def test_a_non_critical_alert_in_quiet_hours_is_held() -> None:
    assert not should_send_now(NIGHT, london(2026, 11, 20, 23), critical=False)
    assert should_send_now(NIGHT, london(2026, 11, 20, 9), critical=False)
    assert should_send_now(None, london(2026, 11, 20, 23), critical=False)
