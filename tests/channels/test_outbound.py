"""Outbound mail: build_reply's headers, header-injection refusal, and SmtpSender against a real sink."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.outbound import (
    MAX_DISPLAY_NAME_LENGTH,
    REFERENCES_KEEP_LAST,
    SmtpSender,
    SmtpSenderConfig,
    build_reply,
    classify_failure,
    clean_subject,
    make_message_id,
    reply_subject,
    thread_references,
)
from channels.errors import HeaderInjectionError, PermanentDeliveryError, TransientDeliveryError
from tests.smtp_sink import SmtpSink

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
SUPPORT = "support@wedsync.example"
CUSTOMER = "jo@customer.example"
TICKET = "BIL-MIDQ1Z2K-7QF"
OUR_ID = "Xk3v9QpLm2R8sT1uW4yZ6aBc@wedsync.example"
PARENT = "CAF=abc+123@mail.customer.example"

BASE: dict[str, Any] = {
    "from_address": SUPPORT,
    "from_name": "WedSync Support",
    "to": CUSTOMER,
    "subject": "Forms not saving",
    "ticket_id": TICKET,
    "body_text": "Hello Jo,\n\nwe are on it.\n",
    "message_id": OUR_ID,
    "in_reply_to": PARENT,
    "references": ["first@customer.example"],
    "auto_submitted": False,
    "now": NOW,
}


def build(**overrides: Any) -> EmailMessage:
    return build_reply(**{**BASE, **overrides})


def reparse(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def squeeze(text: str) -> str:
    return "".join(text.split())


def text_of(part: MIMEPart) -> str:
    return str(part.get_content()).replace("\r\n", "\n")


def header_block(message: EmailMessage) -> bytes:
    return message.as_bytes().split(b"\r\n\r\n", 1)[0]


# --- build_reply ------------------------------------------------------------------------------


def test_reply_headers_exactly() -> None:
    message = build()
    parsed = reparse(message)
    assert list(parsed.keys()) == [
        "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    ]  # fmt: skip
    assert parsed["From"] == "WedSync Support <support@wedsync.example>"
    assert parsed["To"] == CUSTOMER
    assert parsed["Subject"] == f"Re: Forms not saving [{TICKET}]"
    assert parsed["Date"] == "Fri, 14 Mar 2025 09:26:53 +0000"
    assert parsed["Message-ID"] == f"<{OUR_ID}>"
    assert parsed["In-Reply-To"] == f"<{PARENT}>"
    assert parsed["References"] == f"<first@customer.example> <{PARENT}>"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert text_of(parsed) == "Hello Jo,\n\nwe are on it.\n"
    assert b"\r\n" in message.as_bytes() and b"\n" not in message.as_bytes().replace(b"\r\n", b"")


def test_date_comes_from_now_and_must_be_aware() -> None:
    cet = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert build(now=cet)["Date"] == format_datetime(cet) == "Thu, 02 Jan 2025 03:04:05 +0100"
    with pytest.raises(ValueError):
        build(now=datetime(2025, 1, 2, 3, 4, 5))


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Forms not saving", f"Re: Forms not saving [{TICKET}]"),
        ("Re: Forms not saving", f"Re: Forms not saving [{TICKET}]"),
        ("RE: Re: re:Forms not saving", f"Re: Forms not saving [{TICKET}]"),
        ("Fwd: Forms", f"Re: Forms [{TICKET}]"),
        ("FW: AW: SV: Forms", f"Re: Forms [{TICKET}]"),
        ("Re[2]: Forms", f"Re: Forms [{TICKET}]"),
        (f"Re: Forms not saving [{TICKET}]", f"Re: Forms not saving [{TICKET}]"),
        (f"[{TICKET}] Forms", f"Re: [{TICKET}] Forms"),
        (f"Forms [{TICKET.lower()}]", f"Re: Forms [{TICKET.lower()}]"),
        ("Forms Re: again", f"Re: Forms Re: again [{TICKET}]"),
        ("Forms\r\n not\tsaving\n", f"Re: Forms not saving [{TICKET}]"),
        ("Bad\r\nBcc: evil@example.com", f"Re: Bad Bcc: evil@example.com [{TICKET}]"),
        ("Re:", f"Re: [{TICKET}]"),
        ("", f"Re: [{TICKET}]"),
        ("Grüße \u2028 aus Köln", f"Re: Grüße aus Köln [{TICKET}]"),
        ("=?utf-8?q?x=0D=0ABcc:_evil@x?=", f"Re: = ?utf-8?q?x=0D=0ABcc:_evil@x?= [{TICKET}]"),
    ],
)
def test_subject_forms(subject: str, expected: str) -> None:
    assert reply_subject(subject, TICKET) == expected
    parsed = reparse(build(subject=subject))
    assert parsed["Subject"] == expected
    assert "Bcc" not in parsed


def test_encoded_word_lookalike_in_subject_cannot_add_a_header() -> None:
    parsed = reparse(build(subject="=?utf-8?q?hello=0D=0ABcc:_evil@example.com?="))
    assert list(parsed.keys()).count("Subject") == 1
    assert "Bcc" not in parsed
    assert "\r" not in parsed["Subject"] and "\n" not in parsed["Subject"]


def test_non_ascii_display_name_and_subject_round_trip() -> None:
    name = 'Jörg "the helper" Müller, WedSync 支持'
    subject = "Grüße — 日本語の件名 that is long enough to be folded across several lines by the policy"
    message = build(from_name=name, subject=subject)
    header_block(message).decode("ascii")  # headers are 7-bit on the wire
    parsed = reparse(message)
    sender = parsed["From"].addresses[0]
    assert sender.display_name == name
    assert sender.addr_spec == SUPPORT
    assert parsed["Subject"] == f"Re: {subject} [{TICKET}]"


def test_non_ascii_body_is_7bit_safe() -> None:
    message = build(body_text="Grüße 😀\n" + "x" * 200 + "\n")
    message.as_bytes().decode("ascii")
    assert text_of(reparse(message)) == "Grüße 😀\n" + "x" * 200 + "\n"


def test_html_body_makes_multipart_alternative() -> None:
    parsed = reparse(build(body_html="<p>Hello <b>Jo</b></p>"))
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    assert text_of(parts[0]) == BASE["body_text"]
    assert text_of(parts[1]) == "<p>Hello <b>Jo</b></p>\n"
    assert list(parsed.keys()).count("MIME-Version") == 1


def test_auto_submitted_only_on_automatic_mail() -> None:
    automatic = reparse(build(auto_submitted=True))
    assert automatic["Auto-Submitted"] == "auto-replied"
    assert automatic["X-Auto-Response-Suppress"] == "All"
    by_agent = reparse(build(auto_submitted=False))
    assert "Auto-Submitted" not in by_agent
    assert "X-Auto-Response-Suppress" not in by_agent


def test_no_parent_means_no_threading_headers() -> None:
    parsed = reparse(build(in_reply_to=None, references=[]))
    assert "In-Reply-To" not in parsed
    assert "References" not in parsed


def test_references_order_dedup_and_angle_brackets() -> None:
    refs = ["a@x.example", "<b@x.example>", "a@x.example", PARENT]
    assert thread_references(refs, PARENT) == ["a@x.example", "b@x.example", PARENT]
    assert thread_references([], PARENT) == [PARENT]
    assert thread_references(["a@x.example"], None) == ["a@x.example"]
    parsed = reparse(build(references=refs, in_reply_to=f"<{PARENT}>"))
    assert parsed["References"] == f"<a@x.example> <b@x.example> <{PARENT}>"
    assert parsed["In-Reply-To"] == f"<{PARENT}>"


def test_references_are_capped_to_first_and_last_twenty() -> None:
    refs = [f"id{i}@x.example" for i in range(50)]
    kept = thread_references(refs, PARENT)
    assert len(kept) == REFERENCES_KEEP_LAST + 1 == 21
    assert kept == ["id0@x.example", *[f"id{i}@x.example" for i in range(31, 50)], PARENT]
    parsed = reparse(build(references=refs))
    assert parsed["References"].split() == [f"<{i}>" for i in kept]


def test_malformed_foreign_ids_are_left_out_not_raised() -> None:
    refs = ["no-at-sign", "a b@x.example", "ok@x.example", "=?utf-8?q?=0D=0ABcc=3A_e=40x?=@x.example", "x" * 300]
    parsed = reparse(build(references=refs, in_reply_to="<broken"))
    assert parsed["References"] == "<ok@x.example>"
    assert "In-Reply-To" not in parsed
    assert "Bcc" not in parsed


def test_extra_headers_are_added_but_may_not_override() -> None:
    parsed = reparse(build(extra_headers={"X-WedSync-Ticket": TICKET, "Reply-To": "help@wedsync.example"}))
    assert parsed["X-WedSync-Ticket"] == TICKET
    assert parsed["Reply-To"] == "help@wedsync.example"
    for name in ["Bcc", "cc", "Subject", "From", "Message-ID", "Content-Type", "Resent-To", "References"]:
        with pytest.raises(HeaderInjectionError):
            build(extra_headers={name: "x@y.example"})
    for name in ["X Bad", "X:Bad", "", "Ünï"]:
        with pytest.raises(HeaderInjectionError):
            build(extra_headers={name: "value"})
    with pytest.raises(HeaderInjectionError):  # the library's structured parser chokes on it
        build(extra_headers={"Reply-To": "0@"})


INJECTIONS = ["\r", "\n", "\r\n", "\x00", "\r\nBcc: evil@example.com", "\u2028", "\x85", "\t"]


@pytest.mark.parametrize("bad", INJECTIONS)
@pytest.mark.parametrize("argument", ["from_address", "from_name", "to", "ticket_id", "message_id", "in_reply_to"])
def test_control_characters_in_any_header_argument_raise(argument: str, bad: str) -> None:
    value = BASE[argument]
    for poisoned in (value + bad, bad + value, value[:3] + bad + value[3:]):
        with pytest.raises(HeaderInjectionError):
            build(**{argument: poisoned})


@pytest.mark.parametrize("bad", INJECTIONS)
def test_control_characters_in_references_and_extra_headers_raise(bad: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(references=["ok@x.example", f"a{bad}@x.example"])
    with pytest.raises(HeaderInjectionError):
        build(extra_headers={"X-Note": f"fine{bad}"})
    with pytest.raises(HeaderInjectionError):
        build(extra_headers={f"X-Note{bad}": "fine"})


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("from_name", "=?utf-8?q?x=0D=0ABcc:_evil@example.com?="),
        ("from_address", "=?utf-8?q?x?=@wedsync.example"),
        ("to", "=?utf-8?q?x?=@customer.example"),
        ("message_id", "=?utf-8?q?=0D=0ABcc=3A_e=40x?=@wedsync.example"),
    ],
)
def test_encoded_word_openers_raise_outside_the_subject(argument: str, value: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(**{argument: value})
    with pytest.raises(HeaderInjectionError):
        build(extra_headers={"X-Note": "=?utf-8?q?x=0D=0ABcc:_evil@example.com?="})


@pytest.mark.parametrize(
    "address", ["", "jo", "jo@", "@customer.example", "a@x.example, b@x.example", "Jo <jo@x.example>", "a b@x"]
)
def test_addresses_must_be_one_addr_spec(address: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(to=address)
    with pytest.raises(HeaderInjectionError):
        build(from_address=address)


@pytest.mark.parametrize("message_id", ["", "no-at-sign", "a b@x", "a@b c", "<>", "a@x>"])
def test_our_message_id_must_be_plain(message_id: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(message_id=message_id)


@pytest.mark.parametrize("ticket_id", ["", "A]B", "A B", "[A]", "-A"])
def test_ticket_id_must_be_plain(ticket_id: str) -> None:
    with pytest.raises(HeaderInjectionError):
        build(ticket_id=ticket_id)


HEADER_NAMES = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
MIME_NAMES = ["MIME-Version", "Content-Type", "Content-Transfer-Encoding"]

subject_pieces = st.sampled_from(
    ["=?", "?=", "=?utf-8?q?", "=?utf-8?b?", "=0D=0A", "Bcc:", "\r\n", "\n", "\r", " ", "\t", "Re:", "AW: ",
     "[", "]", TICKET, "\x00", "\x85", "\u2028", "ü", "日本", ";", '"', "\\", "<", ">", "@", ":", "x" * 80]
)  # fmt: skip
subjects = st.one_of(st.text(), st.lists(st.one_of(subject_pieces, st.text(max_size=5))).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=subjects)
def test_any_subject_gives_exactly_one_subject_header(subject: str) -> None:
    message = build(subject=subject)
    block = header_block(message)
    assert len(re.findall(rb"(?im)^subject:", block)) == 1
    assert all(not line.startswith(b"Bcc") for line in block.split(b"\r\n"))
    parsed = reparse(message)
    assert list(parsed.keys()) == HEADER_NAMES + MIME_NAMES
    # Python 3.11 may drop or add a space where it splits an encoded word; nothing else changes.
    assert squeeze(parsed["Subject"]) == squeeze(reply_subject(subject, TICKET))
    assert not any(c in parsed["Subject"] for c in "\r\n\x00")


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.text(max_size=80), st.lists(subject_pieces, max_size=8).map("".join)))
def test_any_display_name_is_refused_or_round_trips(name: str) -> None:
    """A display name is refused for control characters, '=?' or length, and otherwise survives."""
    normalized = " ".join(name.split())
    try:
        message = build(from_name=name)
    except HeaderInjectionError:
        assert (
            "=?" in name
            or len(normalized) > MAX_DISPLAY_NAME_LENGTH
            or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name)
        )
        return
    parsed = reparse(message)
    assert list(parsed.keys()) == HEADER_NAMES + MIME_NAMES
    (sender,) = parsed["From"].addresses
    assert (squeeze(sender.display_name), sender.addr_spec) == (squeeze(normalized), SUPPORT)


@pytest.mark.parametrize(
    "name",
    ["WedSync Support", 'Jörg "the helper" Müller, WedSync', "Support (24/7) <team>", "a" * 64, "サポート"],
)
def test_display_names_with_specials_round_trip(name: str) -> None:
    (sender,) = reparse(build(from_name=name))["From"].addresses
    assert sender.display_name == name


def test_a_long_non_ascii_display_name_is_encoded_in_several_words() -> None:
    name = "日本語サポート" * 9
    message = build(from_name=name)
    assert header_block(message).count(b"=?utf-8?b?") > 1
    (sender,) = reparse(message)["From"].addresses
    assert squeeze(sender.display_name) == name  # Python's parser adds spaces between the words


def test_long_display_names_are_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        build(from_name="a" * (MAX_DISPLAY_NAME_LENGTH + 1))


def test_long_message_ids_are_never_split_or_encoded() -> None:
    outlook = "AM0PR07MB4177C2B3A14D0DE2F1E1C6B5E3A20@AM0PR07MB4177.eurprd07.prod.outlook.com"
    huge = "a" * 230 + "@x.example"
    message = build(in_reply_to=outlook, references=["first@x.example", huge], message_id=OUR_ID)
    block = header_block(message)
    assert b"=?" not in block
    assert f"In-Reply-To: <{outlook}>".encode() in block
    assert f"\r\n <{huge}>\r\n".encode() in block
    parsed = reparse(message)
    assert parsed["In-Reply-To"] == f"<{outlook}>"
    assert parsed["References"].split() == ["<first@x.example>", f"<{huge}>", f"<{outlook}>"]
    assert max(len(line) for line in block.split(b"\r\n")) <= 998


def test_references_fold_between_ids_at_78_columns() -> None:
    refs = [f"id{i:02d}.abcdefghij@mail.customer.example" for i in range(15)]
    block = header_block(build(references=refs, in_reply_to=None))
    lines = block.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"References:"))
    folded = [lines[start]] + [line for line in lines[start + 1 :] if line.startswith(b" ")]
    assert all(len(line) <= 78 for line in folded)
    assert b" ".join(line.strip() for line in folded) == b"References: " + b" ".join(b"<%s>" % r.encode() for r in refs)


def test_internationalized_addresses_are_refused() -> None:
    with pytest.raises(HeaderInjectionError):
        build(to="jörg@customer.example")
    with pytest.raises(HeaderInjectionError):
        build(to="jo@bücher.example")


def test_clean_subject_collapses_and_neutralizes() -> None:
    assert clean_subject("  a\r\n\t b\x00c\u2029d  ") == "a b c d"
    assert clean_subject("x=?y") == "x= ?y"
    assert clean_subject("\ud800") == "\ufffd"


# --- make_message_id --------------------------------------------------------------------------


def test_make_message_id_is_random_and_plain() -> None:
    ids = {make_message_id("wedsync.example") for _ in range(2000)}
    assert len(ids) == 2000
    for message_id in ids:
        local, domain = message_id.split("@")
        assert domain == "wedsync.example"
        assert len(local) >= 24
        assert re.fullmatch(r"[A-Za-z0-9_-]+", local)
        build(message_id=message_id)  # accepted as our own id


def test_make_message_id_with_token_and_bad_input() -> None:
    assert make_message_id("mail.wedsync.example", "outbox-42") == "outbox-42@mail.wedsync.example"
    for domain in ["", "bad domain", "a..b", "-x.example", "x.example\r\n", "x@y"]:
        with pytest.raises(HeaderInjectionError):
            make_message_id(domain)
    for token in ["", "a b", "a\r\nb", "a@b", "a<b", "é"]:
        with pytest.raises(HeaderInjectionError):
            make_message_id("wedsync.example", token)


# --- SmtpSender -------------------------------------------------------------------------------


def sender_for(port: int, **overrides: Any) -> SmtpSender:
    config: dict[str, Any] = {"host": "127.0.0.1", "port": port, "starttls": False, "timeout": 5.0}
    return SmtpSender(SmtpSenderConfig(**{**config, **overrides}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sender_delivers_to_the_sink(sink: SmtpSink) -> None:
    sender = sender_for(sink.port)
    first = build(subject="Grüße", body_text="Hallo 😀\n")
    second = build(message_id=make_message_id("wedsync.example"), auto_submitted=True)
    await sender.send(first)
    await sender.send(second)  # one sender, many sends
    assert len(sink.messages) == 2
    envelope_from, rcpt_tos, raw = sink.messages[0]
    assert envelope_from == SUPPORT
    assert rcpt_tos == [CUSTOMER]
    received = email.message_from_bytes(raw, policy=policy.default)
    assert received["Message-ID"] == f"<{OUR_ID}>"
    assert received["Subject"] == f"Re: Grüße [{TICKET}]"
    assert text_of(received) == "Hallo 😀\n"
    assert email.message_from_bytes(sink.messages[1].raw)["Message-ID"] == second["Message-ID"]
    assert raw == first.as_bytes()  # exactly the bytes build_reply verified


async def test_sender_uses_to_cc_bcc_as_envelope_and_strips_bcc(sink: SmtpSink) -> None:
    message = EmailMessage(policy=policy.default)  # not built by build_reply: LF, 8-bit body
    message["From"] = "Desk <desk@wedsync.example>"
    message["To"] = "a@x.example, B <b@x.example>"
    message["Cc"] = "c@x.example"
    message["Bcc"] = "hidden@x.example"
    message["Subject"] = "Hallo"
    message.set_content("Grüße\n", cte="8bit")
    await sender_for(sink.port).send(message)
    (delivered,) = sink.messages
    assert delivered.envelope_from == "desk@wedsync.example"
    assert delivered.rcpt_tos == ["a@x.example", "b@x.example", "c@x.example", "hidden@x.example"]
    assert b"hidden@" not in delivered.raw
    assert b"\r\n" in delivered.raw and b"\n" not in delivered.raw.replace(b"\r\n", b"")
    assert "Bcc" in message  # the caller's message is left alone
    assert text_of(email.message_from_bytes(delivered.raw, policy=policy.default)) == "Grüße\n"


async def test_a_message_without_sender_or_recipient_is_permanent(sink: SmtpSink) -> None:
    message = EmailMessage()
    message["To"] = CUSTOMER
    with pytest.raises(PermanentDeliveryError):
        await sender_for(sink.port).send(message)
    message["From"] = SUPPORT
    del message["To"]
    with pytest.raises(PermanentDeliveryError):
        await sender_for(sink.port).send(message)
    assert sink.messages == []


async def test_451_at_data_is_transient_and_the_next_try_succeeds(sink: SmtpSink) -> None:
    sink.fail_next("451 4.3.0 Try again later")
    sender = sender_for(sink.port)
    with pytest.raises(TransientDeliveryError) as caught:
        await sender.send(build())
    assert "451" in str(caught.value)
    assert sink.messages == []
    await sender.send(build())
    assert len(sink.messages) == 1


async def test_451_for_the_recipient_is_transient(sink: SmtpSink) -> None:
    sink.fail_next("451 4.2.0 Greylisted, come back later", stage="rcpt")
    with pytest.raises(TransientDeliveryError):
        await sender_for(sink.port).send(build())


async def test_550_for_the_recipient_is_permanent_and_names_no_address(sink: SmtpSink) -> None:
    sink.fail_next(f"550 5.1.1 <{CUSTOMER}>: Recipient address rejected", stage="rcpt")
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender_for(sink.port).send(build())
    assert "550" in str(caught.value)
    assert CUSTOMER not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert sink.messages == []


@pytest.mark.parametrize(
    ("reply", "stage"), [("553 5.7.1 Sender not allowed", "mail"), ("554 5.6.0 Message rejected", "data")]
)
async def test_5xx_sender_or_data_refusal_is_permanent(sink: SmtpSink, reply: str, stage: Any) -> None:
    sink.fail_next(reply, stage=stage)
    with pytest.raises(PermanentDeliveryError):
        await sender_for(sink.port).send(build())


async def test_nothing_listening_is_transient() -> None:
    with pytest.raises(TransientDeliveryError):
        await sender_for(free_port()).send(build())


@pytest.fixture
async def mute_server() -> AsyncIterator[tuple[int, list[str]]]:
    """Accepts connections; `mode[0]` says whether it then stays silent or hangs up at once."""
    mode = ["silent"]
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        if mode[0] == "hangup":
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1]), mode
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_greets_times_out_as_transient(mute_server: tuple[int, list[str]]) -> None:
    port, _ = mute_server
    with pytest.raises(TransientDeliveryError):
        await sender_for(port, timeout=0.3).send(build())


async def test_a_server_that_hangs_up_is_transient(mute_server: tuple[int, list[str]]) -> None:
    port, mode = mute_server
    mode[0] = "hangup"
    with pytest.raises(TransientDeliveryError):
        await sender_for(port).send(build())


async def test_required_starttls_or_auth_missing_is_transient_and_hides_the_password(sink: SmtpSink) -> None:
    secret = "hunter2-very-secret"
    config = SmtpSenderConfig(host="127.0.0.1", port=sink.port, user="desk", password=secret, starttls=False)
    assert secret not in repr(config)
    with pytest.raises(TransientDeliveryError) as no_auth:
        await SmtpSender(config).send(build())
    with pytest.raises(TransientDeliveryError) as no_tls:
        await sender_for(sink.port, starttls=True).send(build())
    for caught in (no_auth, no_tls):
        assert secret not in str(caught.value)
    assert sink.messages == []


def test_classify_failure_codes_and_redaction() -> None:
    refused = aiosmtplib.SMTPRecipientRefused
    mixed = aiosmtplib.SMTPRecipientsRefused([refused(550, "no", "a@x"), refused(450, "later", "b@x")])
    assert isinstance(classify_failure(mixed), TransientDeliveryError)
    all_5xx = aiosmtplib.SMTPRecipientsRefused([refused(550, "no", "a@x"), refused(551, "no", "b@x")])
    assert isinstance(classify_failure(all_5xx), PermanentDeliveryError)
    leaky = aiosmtplib.SMTPResponseException(554, "rejected pw=s3cret for jo@customer.example")
    error = classify_failure(leaky, "s3cret")
    assert isinstance(error, PermanentDeliveryError)
    assert "s3cret" not in str(error) and "jo@customer.example" not in str(error)
    assert isinstance(classify_failure(aiosmtplib.SMTPDataError(421, "closing")), TransientDeliveryError)
    assert isinstance(classify_failure(aiosmtplib.SMTPServerDisconnected("gone")), TransientDeliveryError)
    assert isinstance(classify_failure(ConnectionRefusedError()), TransientDeliveryError)
    assert isinstance(classify_failure(TimeoutError()), TransientDeliveryError)
    assert isinstance(classify_failure(ValueError("No From header")), PermanentDeliveryError)


def test_sink_counts_failures_per_stage() -> None:
    with SmtpSink() as sink:
        sink.fail_next("451 4.3.0 later", times=2)
        sink.fail_next("550 5.1.1 no", stage="rcpt")
        assert sink.port > 0
        sink.clear()
        assert sink.messages == []
