"""parse_email / message_id_of / classify_noise: headers, ids, errors, the loop guard."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from channels.email.parse import NoiseKind, ParsedEmail, classify_noise, message_id_of, parse_email
from channels.errors import ChannelError, EmailParseError


def _mail(*headers: tuple[str, str], body: str = "Hello, I need help.\n") -> bytes:
    lines = [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


BASIC = (
    ("From", '"Anna Smith" <Anna.Smith@Example.COM>'),
    ("To", "Support <support@wedsync.test>, bob@example.com"),
    ("Cc", "carol@example.com"),
    ("Reply-To", "anna.private@example.com"),
    ("Subject", "Cannot   export\tguests"),
    ("Date", "Mon, 3 Jun 2024 10:00:00 +0200"),
    ("Message-ID", "<CAF=Abc.123@Mail.Example.com>"),
    ("In-Reply-To", "<first@wedsync.test>"),
    ("References", "<root@wedsync.test> <first@wedsync.test>"),
)


def test_a_plain_mail_gives_its_addresses_subject_date_and_ids() -> None:
    parsed = parse_email(_mail(*BASIC))
    assert parsed.from_address == "anna.smith@example.com"
    assert parsed.from_name == "Anna Smith"
    assert parsed.to == ("support@wedsync.test", "bob@example.com")
    assert parsed.cc == ("carol@example.com",)
    assert parsed.reply_to == ("anna.private@example.com",)
    assert parsed.subject == "Cannot export guests"
    assert parsed.date == datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
    assert parsed.in_reply_to == ("first@wedsync.test",)
    assert parsed.references == ("root@wedsync.test", "first@wedsync.test")
    assert parsed.text == "Hello, I need help."
    assert parsed.noise is NoiseKind.NONE
    assert parsed.bounce is None
    assert parsed.defects == ()


def test_message_id_keeps_its_case_and_loses_the_angle_brackets() -> None:
    parsed = parse_email(_mail(*BASIC))
    assert parsed.message_id == "CAF=Abc.123@Mail.Example.com"
    assert parsed.has_message_id is True


def test_a_mail_without_message_id_gets_the_hash_of_its_bytes_and_a_defect() -> None:
    raw = _mail(("From", "a@example.com"), ("Subject", "x"), ("Date", "Mon, 3 Jun 2024 10:00:00 +0000"))
    parsed = parse_email(raw)
    assert parsed.message_id == hashlib.sha256(raw).hexdigest() + "@no-message-id.invalid"
    assert parsed.has_message_id is False
    assert any("Message-ID" in d for d in parsed.defects)


def test_a_message_id_without_brackets_is_still_read() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Message-ID", "bare-id@example.com")))
    assert parsed.message_id == "bare-id@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        _mail(*BASIC),
        _mail(("From", "a@example.com"), ("Subject", "no id")),
        _mail(("From", "a@example.com"), ("Message-ID", "  <spaced@example.com>  ")),
        b"From: a@example.com\nMessage-ID: <lf-only@example.com>\n\nbody\n",
        b"From: a@example.com\nSubject: headers only, no body",
    ],
)
def test_message_id_of_gives_the_same_id_as_parse_email(raw: bytes) -> None:
    assert message_id_of(raw) == parse_email(raw).message_id


def test_message_id_of_reads_only_the_headers() -> None:
    headers = b"From: a@example.com\r\nMessage-ID: <same@example.com>\r\n\r\n"
    assert (
        message_id_of(headers + b"one body")
        == message_id_of(headers + b"\xff\x00 another body")
        == ("same@example.com")
    )


def test_message_id_of_hashes_the_whole_mail_when_there_is_no_id() -> None:
    headers = b"From: a@example.com\r\n\r\n"
    assert message_id_of(headers + b"one") != message_id_of(headers + b"two")


def test_a_missing_from_gives_none_and_a_defect() -> None:
    parsed = parse_email(_mail(("To", "support@wedsync.test"), ("Subject", "hi")))
    assert parsed.from_address is None
    assert parsed.from_name == ""
    assert "missing From header" in parsed.defects


def test_an_unparseable_from_gives_none_and_a_defect() -> None:
    parsed = parse_email(_mail(("From", "just a name, no address"), ("Subject", "hi")))
    assert parsed.from_address is None
    assert "unreadable From header" in parsed.defects


def test_an_address_inside_the_display_name_is_not_taken_as_the_sender() -> None:
    parsed = parse_email(_mail(("From", '"support@wedsync.test" <mallory@evil.example>')))
    assert parsed.from_address == "mallory@evil.example"


def test_an_encoded_display_name_is_decoded() -> None:
    parsed = parse_email(_mail(("From", "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>")))
    assert parsed.from_name == "Jürgen Müller"
    assert parsed.from_address == "jm@example.de"


def test_a_missing_date_gives_none_and_a_defect() -> None:
    parsed = parse_email(_mail(("From", "a@example.com")))
    assert parsed.date is None
    assert "missing Date header" in parsed.defects


def test_an_unreadable_date_gives_none_and_a_defect() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Date", "sometime last week")))
    assert parsed.date is None
    assert "unreadable Date header" in parsed.defects


def test_an_obsolete_date_is_read_and_converted_to_utc() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Date", "3 Jun 24 10:00 EST (Eastern)")))
    assert parsed.date == datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def test_a_date_with_the_wrong_weekday_is_kept_with_a_defect() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Date", "Fri, 3 Jun 2024 10:00:00 +0000")))
    assert parsed.date == datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
    assert any("weekday" in d for d in parsed.defects)


def test_an_iso_date_is_accepted_as_a_fallback() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Date", "2024-06-03T10:00:00+02:00")))
    assert parsed.date == datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


def test_duplicated_headers_use_the_first_and_record_a_defect() -> None:
    parsed = parse_email(
        _mail(("From", "first@example.com"), ("From", "second@example.com"), ("Subject", "one"), ("Subject", "two"))
    )
    assert parsed.from_address == "first@example.com"
    assert parsed.subject == "one"
    assert parsed.headers["subject"] == "one"
    assert any("duplicate subject" in d for d in parsed.defects)


def test_a_folded_header_of_more_than_1000_characters_is_read_whole() -> None:
    recipients = [f"person{i}@example.com" for i in range(60)]
    folded = ",\r\n ".join(recipients)
    parsed = parse_email(_mail(("From", "a@example.com"), ("To", folded), ("Subject", "long " * 250)))
    assert len(folded) > 1000
    assert parsed.to == tuple(recipients)
    assert parsed.subject == ("long " * 250).strip()


def test_an_unfolded_header_line_of_more_than_1000_characters_is_read_whole() -> None:
    references = " ".join(f"<id{i}@example.com>" for i in range(100))
    parsed = parse_email(_mail(("From", "a@example.com"), ("References", references)))
    assert len(references) > 1000
    assert parsed.references == tuple(f"id{i}@example.com" for i in range(100))


def test_headers_maps_lowercased_names_to_decoded_values() -> None:
    parsed = parse_email(
        _mail(
            ("From", "a@example.com"),
            ("Subject", "=?utf-8?b?w6l0w6k=?="),
            ("X-Mailer", "Thunderbird"),
            ("Auto-Submitted", "auto-replied"),
            ("List-Unsubscribe", "<mailto:u@example.com>"),
        )
    )
    assert parsed.headers["subject"] == "été"
    assert parsed.headers["x-mailer"] == "Thunderbird"
    assert parsed.headers["auto-submitted"] == "auto-replied"
    assert parsed.headers["list-unsubscribe"] == "<mailto:u@example.com>"
    assert "precedence" not in parsed.headers


def test_a_header_value_cannot_smuggle_line_breaks_through_encoded_words() -> None:
    parsed = parse_email(_mail(("From", "a@example.com"), ("Subject", "=?utf-8?q?Hi=0D=0ABcc:_x@evil.example?=")))
    assert "\n" not in parsed.subject and "\r" not in parsed.subject
    assert parsed.subject == "Hi Bcc: x@evil.example"


def test_a_mail_built_with_the_standard_library_parses() -> None:
    msg = EmailMessage()
    msg["From"] = "Zoë <zoe@example.com>"
    msg["To"] = "support@wedsync.test"
    msg["Subject"] = "Überweisung fehlgeschlagen"
    msg.set_content("Grüße\n")
    parsed = parse_email(msg.as_bytes())
    assert (parsed.from_name, parsed.subject, parsed.text) == ("Zoë", "Überweisung fehlgeschlagen", "Grüße")


def test_a_mail_with_headers_only_parses_with_empty_text() -> None:
    parsed = parse_email(b"From: a@example.com\r\nSubject: nothing else")
    assert parsed.subject == "nothing else"
    assert parsed.text == parsed.new_text == ""


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n\r\n  ",
        b"Just some words that are not an email at all.\nSecond line.",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        b'{"from": "a@example.com", "subject": "json, not mail"}',
    ],
)
def test_bytes_that_are_not_an_email_raise_email_parse_error(raw: bytes) -> None:
    with pytest.raises(EmailParseError):
        parse_email(raw)
    with pytest.raises(EmailParseError):
        message_id_of(raw)


def test_email_parse_error_is_a_channel_error() -> None:
    with pytest.raises(ChannelError):
        parse_email(b"")


def test_absurdly_nested_multiparts_raise_email_parse_error_not_recursion_error() -> None:
    raw = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for i in range(3000):
        raw += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
    with pytest.raises(EmailParseError):
        parse_email(raw)


def test_deeply_nested_multiparts_parse_with_a_defect() -> None:
    depth = 60
    raw = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for i in range(depth):
        raw += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
    raw += b"--b%d\nContent-Type: text/plain\n\ndeep text\n" % depth
    parsed = parse_email(raw)
    assert parsed.text == ""
    assert any("nested too deeply" in d for d in parsed.defects)


def test_parsed_email_is_frozen() -> None:
    parsed = parse_email(_mail(*BASIC))
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.subject = "changed"  # type: ignore[misc]


def _parsed(*headers: tuple[str, str]) -> ParsedEmail:
    return parse_email(_mail(*headers))


def test_classify_noise_flags_our_own_message_id_case_insensitively() -> None:
    parsed = _parsed(("From", "customer@example.com"), ("Message-ID", "<t-42.abc@Desk.WedSync.test>"))
    kind = classify_noise(parsed, own_addresses=["support@wedsync.test"], own_message_id_domain="desk.wedsync.test")
    assert kind is NoiseKind.OWN_MESSAGE


def test_classify_noise_flags_mail_from_our_own_address() -> None:
    parsed = _parsed(("From", "Support <Support@WedSync.test>"), ("Message-ID", "<x@elsewhere.example>"))
    kind = classify_noise(parsed, own_addresses={"support@wedsync.test"}, own_message_id_domain="desk.wedsync.test")
    assert kind is NoiseKind.OWN_ADDRESS


def test_classify_noise_prefers_own_message_over_own_address() -> None:
    parsed = _parsed(("From", "support@wedsync.test"), ("Message-ID", "<t-1@desk.wedsync.test>"))
    kind = classify_noise(parsed, own_addresses=["support@wedsync.test"], own_message_id_domain="desk.wedsync.test")
    assert kind is NoiseKind.OWN_MESSAGE


def test_classify_noise_needs_the_at_sign_before_our_domain() -> None:
    parsed = _parsed(("From", "customer@example.com"), ("Message-ID", "<x@notdesk.wedsync.test>"))
    kind = classify_noise(parsed, own_addresses=[], own_message_id_domain="desk.wedsync.test")
    assert kind is NoiseKind.NONE


def test_classify_noise_otherwise_returns_the_parsed_noise() -> None:
    parsed = _parsed(("From", "customer@example.com"), ("Auto-Submitted", "auto-generated"))
    kind = classify_noise(parsed, own_addresses=["support@wedsync.test"], own_message_id_domain="desk.wedsync.test")
    assert kind is parsed.noise is NoiseKind.AUTO_REPLY


def test_parse_email_never_sets_the_configuration_dependent_kinds() -> None:
    parsed = _parsed(("From", "support@wedsync.test"), ("Message-ID", "<t-1@desk.wedsync.test>"))
    assert parsed.noise is NoiseKind.NONE


def test_a_malformed_from_with_a_single_possible_reading_is_recovered_with_a_defect() -> None:
    parsed = parse_email(_mail(("From", "Anna <anna@example.com>>")))
    assert parsed.from_address == "anna@example.com"
    assert any("unmatched-angle" in d for d in parsed.defects)


def test_an_ambiguous_from_gives_none() -> None:
    parsed = parse_email(_mail(("From", "Anna <anna@example.com> <mallory@evil.example>")))
    assert parsed.from_address is None


@pytest.mark.parametrize(
    "prefix", [b"\r\n\r\n", b"\xef\xbb\xbf", b"From sender@example.com Mon Jun  3 10:00:00 2024\n"]
)
def test_blank_lines_a_byte_order_mark_or_an_mbox_from_line_before_the_headers_are_tolerated(prefix: bytes) -> None:
    raw = prefix + b"From: anna@example.com\r\nMessage-ID: <p@example.com>\r\nSubject: hi\r\n\r\nbody"
    parsed = parse_email(raw)
    assert (parsed.from_address, parsed.subject, parsed.text) == ("anna@example.com", "hi", "body")
    assert message_id_of(raw) == parsed.message_id == "p@example.com"
