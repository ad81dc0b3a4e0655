"""Property tests: the parser never fails on email-shaped input, the stripper never grows text."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.parse import message_id_of, parse_email, strip_quotes
from channels.errors import EmailParseError

HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "X-Failed-Recipients",
        "MIME-Version",
        "X-Autoreply",
    ]
)
HEADER_VALUES = st.one_of(
    st.binary(max_size=120).map(lambda b: b.replace(b"\r", b" ").replace(b"\n", b" ")),
    st.sampled_from(
        [
            b"multipart/mixed; boundary=XYZ",
            b"multipart/report; report-type=delivery-status; boundary=XYZ",
            b"text/plain; charset=x-unknown",
            b'text/html; charset="iso-2022-jp',
            b"base64",
            b"quoted-printable",
            b"=?utf-8?B?w6k?= =?gb2312?Q?=C4=E3?=",
            b"attachment; filename*=utf-8''%E2%82%AC.pdf",
            b"<a@b> <c@d",
            b'"x@y" <z@w>, ,,',
            b"Mon, 32 Foo 2024 99:99:99 +9999",
            b"auto-replied",
        ]
    ),
)
BODIES = st.one_of(
    st.binary(max_size=2000),
    st.lists(
        st.sampled_from(
            [
                b"--XYZ\r\n",
                b"Content-Type: text/plain; charset=utf-8\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Content-Type: message/delivery-status\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"\r\n",
                b"w6l0w6k=\r\n",
                b"Final-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n",
                b"--XYZ--\r\n",
                b"> quoted\r\n",
                b"On Mon, 3 Jun 2024, A <a@b> wrote:\r\n",
                b"<p>hi<![ x<br>\r\n",
                b"\xff\xfe\x00\x93",
            ]
        ),
        max_size=40,
    ).map(b"".join),
)


@st.composite
def email_shaped(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), min_size=1, max_size=12))
    block = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    return b"From: someone@example.com\r\n" + block + b"\r\n" + draw(BODIES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(email_shaped())
def test_parse_email_parses_anything_with_a_plausible_header_block(raw: bytes) -> None:
    parsed = parse_email(raw)
    assert parsed.message_id == message_id_of(raw)
    assert len(parsed.new_text) <= len(parsed.text)
    for value in (parsed.text, parsed.new_text, parsed.subject, *parsed.headers.values()):
        value.encode("utf-8")  # always storable text
    assert "\n" not in parsed.subject


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_email_raises_nothing_but_email_parse_error_on_arbitrary_bytes(raw: bytes) -> None:
    with contextlib.suppress(EmailParseError):
        parse_email(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_email_raises_nothing_but_email_parse_error_after_a_valid_first_header(tail: bytes) -> None:
    with contextlib.suppress(EmailParseError):
        parse_email(b"Subject: x\n" + tail)


LINE_PIECES = st.sampled_from(
    [
        "> ",
        ">",
        "On Mon, 3 Jun 2024 at 10:00, A <a@b> wrote:",
        "wrote:",
        "-- ",
        "--",
        "From: x",
        "Sent: y",
        "To: z",
        "Subject: s",
        "-----Original Message-----",
        "_" * 32,
        "Sent from my iPhone",
        "\r\n",
        "\n",
        "\r",
        " ",
        "\t",
        "word",
        "Am 3.6. schrieb X:",
        "<https://aka.ms/x>",
        "\u00a0",
        "é",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=500), st.lists(LINE_PIECES, max_size=60).map("".join)))
def test_strip_quotes_never_returns_more_than_its_input(text: str) -> None:
    assert len(strip_quotes(text)) <= len(text)
