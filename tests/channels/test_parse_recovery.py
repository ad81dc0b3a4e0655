"""Nothing lost in parsing (issue 13): recovered senders, kept body parts, forwards, 8-bit headers.

The ``sender_*``, ``content_*`` and ``header8_*`` fixtures come from tests/fixtures/email/make_corpus.py
(``recovery_fixtures``); here each one's sender, subject and whole text are checked exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.charsets import decode_header_bytes, header_hint
from channels.email.mimeheaders import addresses, raw8, repair_mailbox
from channels.email.parse import SenderSource, message_id_of, parse_email
from channels.errors import EmailParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"

# name: (from_address, from_name, sender_source, subject, text)
EXACT: dict[str, tuple[str | None, str, SenderSource, str, str]] = {
    "sender_trailing_dot_in_brackets.eml": (
        "priya@ramanphotography.co.uk", "Priya Raman", SenderSource.FROM, "Gallery download link expired",
        "Hello,\n\nThe download link for the Hart wedding gallery says it has expired after two days.\n"
        "Can you make it last thirty days?\n\nPriya",
    ),
    "sender_no_angle_brackets.eml": (
        "tom.hughes@bramblebarn.co.uk", "Tom Hughes", SenderSource.FROM, "Seating plan prints blank",
        "Printing the seating plan gives a blank page in Chrome and Edge.\nTom",
    ),
    "sender_second_from_header.eml": (
        "maya.chen@outlook.com", "Maya Chen", SenderSource.LATER_FROM, "Couple cannot see the shared timeline",
        'Our couple says the timeline we shared shows "nothing here yet" on their side.',
    ),
    "sender_reply_to_only.eml": (
        "d.okafor@yahoo.com", "Daniel Okafor", SenderSource.REPLY_TO, "Contact form: refund for duplicate charge",
        "We were charged twice for the November subscription. Please refund one of them.",
    ),
    "sender_sender_header_only.eml": (
        "office@lakesidebarn.com", "Lakeside Barn Office", SenderSource.SENDER, "Invoice template logo is stretched",
        "Our logo comes out stretched on every invoice since Tuesday.",
    ),
    "sender_two_bare_addresses_stays_unknown.eml": (
        None, "", SenderSource.NONE, "Which address is on our account?",
        "Please tell us which email address our account uses.",
    ),
    "sender_junk_first_line.eml": (
        "grace@gracefulblooms.com", "Grace Lee", SenderSource.FROM, "Florist package prices not updating",
        "I changed my package prices yesterday but couples still see the old ones.",
    ),
    "content_mixed_html_then_plain_signature.eml": (
        "sam.oneill@yahoo.co.uk", "Sam O'Neill", SenderSource.FROM, "Export drops guests with apostrophes",
        "Hi WedSync,\n\nThe guest list export drops every guest whose surname has an apostrophe (O'Neill, D'Souza)."
        "\n\nThanks, Sam\n\nSam O'Neill | Wild Thyme Catering | 07700 900123",
    ),
    "content_mixed_plain_image_html.eml": (
        "lucy@brennanbridal.ie", "Lucy Brennan", SenderSource.FROM, "Calendar sync shows wrong times",
        "Here is what the calendar shows:\n\nEvery fitting appears one hour early since the clocks changed.\n\nLucy",
    ),
    "content_alternative_plus_html_disclaimer.eml": (
        "ben.carter@hollinsvenues.com", "Ben Carter", SenderSource.FROM, "Deposit reminders not sending",
        "The automatic deposit reminders stopped going out on 20 November.\n\n"
        "Hollins Venues Ltd, registered in England no. 01234567.",
    ),
    "content_mixed_same_text_twice.eml": (
        "nadia@hennaandlace.com", "Nadia Hassan", SenderSource.FROM, "Two-factor code never arrives",
        "The two-factor code never arrives on my phone.",
    ),
    "content_forward_only_message_rfc822.eml": (
        "ella@wrightweddings.co.uk", "Ella Wright", SenderSource.FROM, "Fwd: RSVP page says the event is full",
        "-------- Forwarded Message --------\n\nFrom: Chloe Martin <chloe.martin@gmail.com>\n"
        "Date: Sun, 22 Nov 2026 18:05:00 +0000\nSubject: RSVP page says the event is full\n"
        "To: Ella Wright <ella@wrightweddings.co.uk>\n\n"
        "Hi Ella, our RSVP page says the event is full but only 40 of 120 guests have replied.\nChloe",
    ),
    "content_forward_as_attachment_empty_body.eml": (
        "james@mossandco.com", "James Moss", SenderSource.FROM, "FW: Your contract link",
        "---------- Forwarded message ---------\nFrom: Harbour Hotel Events <events@harbourhotel.com>\n"
        "Date: Sat, 21 Nov 2026 09:00:00 +0000\nSubject: Your contract link\nTo: James Moss <james@mossandco.com>\n\n"
        "The contract link in this email opens a WedSync page saying 'access denied'.",
    ),
    "content_forward_inline_original_email_separator.eml": (
        "oliver@grantfilms.com", "Oliver Grant", SenderSource.FROM, "Fwd: Payment failed notification",
        "---- Original email message ----\nFrom: WedSync Billing <billing@wedsync.com>\n"
        "Sent: Monday, 23 November 2026 08:00\nTo: oliver@grantfilms.com\nSubject: Payment failed notification\n\n"
        "Your payment of GBP 39.00 failed. Update your card to keep your account active.",
    ),
    "header8_gb2312_raw_body_utf8.eml": (
        "xiaoming@huameiwedding.cn", "王小明", SenderSource.FROM, "婚礼策划表单无法保存",
        "每次点击保存，表单都会清空。",
    ),
    "header8_shift_jis_raw_no_charset.eml": (
        "taro@yamada-photo.jp", "山田太郎", SenderSource.FROM, "フォームが保存できません",
        "フォームの保存ボタンを押しても何も起きません。",
    ),
    "header8_big5_raw_body_big5.eml": (
        "tm.chan@hkbridal.hk", "陳大文", SenderSource.FROM, "婚禮表單無法儲存", "我們每次儲存婚禮表單都出現錯誤。",
    ),
    "header8_latin1_raw_name_ascii_body.eml": (
        "zoe@muellerfloristik.de", "Zoë Müller", SenderSource.FROM, "Réservation annulée",
        "Our booking page cancelled a reservation by itself.",
    ),
    "header8_utf8_raw_body_latin1.eml": (
        "soren@aerobryllup.dk", "Søren Ærø", SenderSource.FROM, "Bryllupsside viser forkert år",
        "Vores side viser 2025 i stedet for 2026. Hilsen Søren",
    ),
    "header8_gb2312_in_latin1_encoded_word.eml": (
        "li.na@qq.com", "Li Na", SenderSource.FROM, "关于付款的问题，请尽快回复", "Please see the subject.",
    ),
    "header8_euc_kr_raw_body_euc_kr.eml": (
        "cs.kim@naver.com", "김철수", SenderSource.FROM, "결제 문제", "결제가 두 번 청구되었습니다.",
    ),
}
FORWARD_ONLY = ("content_forward_only_message_rfc822.eml", "content_forward_as_attachment_empty_body.eml",
                "content_forward_inline_original_email_separator.eml")


def test_every_recovery_fixture_has_an_exact_expectation() -> None:
    names = {p.name for p in FIXTURES.glob("*.eml") if p.name.startswith(("sender_", "content_", "header8_"))}
    assert names == set(EXACT)


@pytest.mark.parametrize("name", sorted(EXACT), ids=sorted(EXACT))
def test_the_fixture_gives_exactly_its_sender_subject_and_text(name: str) -> None:
    parsed = parse_email((FIXTURES / name).read_bytes())
    address, display, source, subject, text = EXACT[name]
    assert (parsed.from_address, parsed.from_name, parsed.sender_source) == (address, display, source)
    assert parsed.subject == subject
    assert parsed.text == text


@pytest.mark.parametrize("name", FORWARD_ONLY)
def test_a_forward_only_mail_keeps_the_forwarded_content_as_its_new_text(name: str) -> None:
    parsed = parse_email((FIXTURES / name).read_bytes())
    assert parsed.new_text == parsed.text


def _mail(headers: str, body: str = "Hello, I need help.\n") -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"Anna Smith" <anna@example.com.>', ("Anna Smith", "anna@example.com")),
        ("<anna@example.com.>", ("", "anna@example.com")),
        ("Anna Smith anna@example.com", ("Anna Smith", "anna@example.com")),
        ("anna@example.com.", ("", "anna@example.com")),
        ("Anna <anna@example.com", ("Anna", "anna@example.com")),
    ],
)
def test_a_repairable_mailbox_is_read_with_a_defect(value: str, expected: tuple[str, str]) -> None:
    pairs, defects = addresses(value)
    assert pairs == [expected]
    assert any("a mailbox read with" in d for d in defects)
    assert not any("anna@" in d for d in defects)  # defects never quote the address


@pytest.mark.parametrize(
    "value",
    [
        "anna@example.com bob@example.com",
        '"support@wedsync.test" mallory@evil.example',
        "Anna <anna@example.com> <mallory@evil.example>",
        "Anna Smith <anna at example.com>",
        "Anna <anna@localhost.>",
        "MAILER-DAEMON",
    ],
)
def test_a_mailbox_with_more_than_one_reading_or_none_is_not_repaired(value: str) -> None:
    assert addresses(value)[0] == []


def test_repair_mailbox_says_what_it_repaired() -> None:
    assert repair_mailbox('"A" <a@b.example.com.>') == ("A", "a@b.example.com", "a trailing dot dropped")
    assert repair_mailbox("A B a@b.com") == ("A B", "a@b.com", "no angle brackets")
    assert repair_mailbox("a@b.com c@d.com") is None


def test_a_usable_first_from_wins_over_reply_to_and_sender() -> None:
    parsed = parse_email(_mail("From: anna@example.com\nReply-To: other@example.com\nSender: list@example.com"))
    assert (parsed.from_address, parsed.sender_source) == ("anna@example.com", SenderSource.FROM)
    assert parsed.reply_to == ("other@example.com",)


def test_reply_to_comes_before_sender_when_from_is_unusable() -> None:
    parsed = parse_email(_mail("From: Webform\nSender: relay@example.com\nReply-To: Anna <anna@example.com>"))
    assert (parsed.from_address, parsed.from_name, parsed.sender_source) == ("anna@example.com", "Anna",
                                                                            SenderSource.REPLY_TO)
    assert "unreadable From header" in parsed.defects
    assert "sender taken from the Reply-To header" in parsed.defects


def test_a_later_from_is_used_only_when_the_first_is_unusable() -> None:
    parsed = parse_email(_mail("From: anna@example.com\nFrom: mallory@evil.example"))
    assert (parsed.from_address, parsed.sender_source) == ("anna@example.com", SenderSource.FROM)


def test_a_recovered_daemon_sender_makes_a_bounce_noise_not_a_human() -> None:
    raw = _mail("Sender: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender",
                "This is the mail system at host mx.example.com.\n\nI'm sorry to have to inform you that your "
                "message could not be delivered.\n\n<anna@example.com>: host said: 550 5.1.1 User unknown\n")
    parsed = parse_email(raw)
    assert parsed.sender_source is SenderSource.SENDER
    assert parsed.noise.value in ("bounce", "daemon")


@pytest.mark.parametrize(
    "junk",
    [
        b"---- Original email message ----\r\n",
        b"---- Original email message ----\r\n\r\n\r\n",
        b"From sender@example.com Mon Jun  3 10:00:00 2024\r\n=== saved by MailArchiver ===\r\n",
        b"Begin forwarded message:\r\n\r\n",
    ],
)
def test_junk_lines_before_the_headers_are_skipped_with_a_defect(junk: bytes) -> None:
    raw = junk + _mail("From: anna@example.com\nMessage-ID: <j@example.com>\nSubject: hi", "body")
    parsed = parse_email(raw)
    assert (parsed.from_address, parsed.subject, parsed.text) == ("anna@example.com", "hi", "body")
    assert any("before the headers skipped" in d for d in parsed.defects)
    assert message_id_of(raw) == parsed.message_id == "j@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        b"Dear team,\nNote: this is prose.\nThanks\n",
        b"Meeting notes\nAgenda: budget\n\nmore prose\n",
        b"one\ntwo\nthree\nfour\nfive\nsix\nFrom: a@example.com\nSubject: too deep\n\nbody",
    ],
)
def test_prose_with_a_colon_line_is_still_not_an_email(raw: bytes) -> None:
    with pytest.raises(EmailParseError):
        parse_email(raw)


def _multipart(ctype: str, *parts: str, boundary: str = "b1") -> str:
    inner = "".join(f"--{boundary}\n{part}\n" for part in parts)
    return f"Content-Type: {ctype}; boundary={boundary}\n\n{inner}--{boundary}--\n"


PLAIN = "Content-Type: text/plain; charset=utf-8\n\n"
HTML = "Content-Type: text/html; charset=utf-8\n\n"


def test_alternatives_keep_only_the_plain_branch() -> None:
    body = _multipart("multipart/alternative", PLAIN + "plain words", HTML + "<p>html words</p>")
    parsed = parse_email(_mail("From: a@example.com\nMIME-Version: 1.0\n" + body.split("\n\n", 1)[0],
                               body.split("\n\n", 1)[1]))
    assert parsed.text == "plain words"
    assert parsed.html is not None and parsed.html.strip() == "<p>html words</p>"


def test_an_empty_plain_alternative_gives_way_to_the_html_one() -> None:
    body = _multipart("multipart/alternative", PLAIN + "\n", HTML + "<p>only <b>here</b></p>")
    head, rest = body.split("\n\n", 1)
    assert parse_email(_mail("From: a@example.com\n" + head, rest)).text == "only here"


def test_nested_alternatives_and_mixed_html_parts_are_kept_in_order() -> None:
    alternative = _multipart("multipart/alternative", PLAIN + "first, as text", HTML + "<p>first, as html</p>",
                             boundary="b2")
    body = _multipart("multipart/mixed", HTML + "<p>zero</p>", alternative, HTML + "<p>second</p>",
                      PLAIN + "third")
    head, rest = body.split("\n\n", 1)
    assert parse_email(_mail("From: a@example.com\n" + head, rest)).text == "zero\n\nfirst, as text\n\nsecond\n\nthird"


def test_a_forward_as_attachment_with_words_of_its_own_stays_an_attachment() -> None:
    forwarded = "Content-Type: message/rfc822\nContent-Disposition: attachment\n\n" + \
        "From: b@example.com\nSubject: inner\n\ninner words"
    body = _multipart("multipart/mixed", PLAIN + "Please look at the attached mail.", forwarded)
    head, rest = body.split("\n\n", 1)
    parsed = parse_email(_mail("From: a@example.com\n" + head, rest))
    assert parsed.text == "Please look at the attached mail."
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]


def test_an_inline_forward_under_own_words_is_in_the_text_but_not_the_new_text() -> None:
    forwarded = "Content-Type: message/rfc822\n\nFrom: b@example.com\nSubject: inner\n\ninner words"
    body = _multipart("multipart/mixed", PLAIN + "FYI, see below.", forwarded)
    head, rest = body.split("\n\n", 1)
    parsed = parse_email(_mail("From: a@example.com\n" + head, rest))
    assert parsed.text == ("FYI, see below.\n\n---------- Forwarded message ---------\nFrom: b@example.com\n"
                           "Subject: inner\n\ninner words")
    assert parsed.new_text == "FYI, see below."


def test_a_report_never_renders_its_returned_message_as_a_forward() -> None:
    returned = "Content-Type: message/rfc822\n\nFrom: support@wedsync.test\nSubject: original\n\nour words"
    report = _multipart("multipart/report; report-type=delivery-status", PLAIN + "Delivery failed.",
                        "Content-Type: message/delivery-status\n\nStatus: 5.1.1\n", returned)
    head, rest = report.split("\n\n", 1)
    parsed = parse_email(_mail("From: MAILER-DAEMON@mx.example.com\n" + head, rest))
    assert "our words" not in parsed.text


def test_raw_utf8_header_bytes_stay_utf8_whatever_the_hint() -> None:
    text = "Ünal Çelik — 婚礼".encode().decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape")
    assert raw8(text.decode("utf-8", "surrogateescape"), "iso-8859-1") == "Ünal Çelik — 婚礼"
    assert decode_header_bytes("Ünal".encode(), None, "gb2312").text == "Ünal"


@pytest.mark.parametrize(
    "word", ["José", "Müller", "Grüße aus Köln", "Ünal Çelik", "Problème", "ÆØÅÉ", "ÄÖÜß Test", "SÉÑÕR"]
)
def test_short_latin1_header_bytes_are_not_taken_for_cjk(word: str) -> None:
    assert decode_header_bytes(word.encode("latin-1"), None, None).text == word
    assert decode_header_bytes(word.encode("latin-1"), "iso-8859-1").text == word


def test_a_multibyte_body_charset_is_the_hint_and_a_western_one_is_overruled_by_detection() -> None:
    name = "王小明".encode("gb2312")
    assert header_hint([name], "big5") == "big5"
    assert header_hint([name, "婚礼策划表单无法保存".encode("gb2312")], "iso-8859-1") == "gb18030"
    assert header_hint(["Müller".encode("latin-1")], "iso-8859-1") == "iso-8859-1"


def test_each_inline_forward_gets_its_separator_unless_a_separator_line_comes_just_before() -> None:
    first = "Content-Type: message/rfc822\n\nFrom: b@example.com\nSubject: one\n\nfirst words"
    second = "Content-Type: message/rfc822\n\nFrom: c@example.com\nSubject: two\n\nsecond words"
    body = _multipart("multipart/mixed", PLAIN + "Two forwards:", first, PLAIN + "-----Original Message-----", second)
    head, rest = body.split("\n\n", 1)
    parsed = parse_email(_mail("From: a@example.com\n" + head, rest))
    assert parsed.text == (
        "Two forwards:\n\n---------- Forwarded message ---------\nFrom: b@example.com\nSubject: one\n\nfirst words"
        "\n\n-----Original Message-----\n\nFrom: c@example.com\nSubject: two\n\nsecond words"
    )


# A random MIME tree: leaves are text/plain or text/html parts each carrying one unique word; containers
# are multipart/mixed (every child is content) or multipart/alternative (children stand in for each other).
def _tree() -> st.SearchStrategy[Any]:
    leaf = st.sampled_from(["plain", "html"])
    return st.recursive(
        leaf,
        lambda children: st.tuples(st.sampled_from(["mixed", "alternative"]), st.lists(children, min_size=1,
                                                                                       max_size=4)),
        max_leaves=10,
    )


def _render(node: Any, counter: list[int], required: list[str], needed: bool) -> str:
    """MIME text for ``node``; the words a reader must see go to ``required``."""
    if isinstance(node, str):
        counter[0] += 1
        word = f"word{counter[0]}x"
        if needed:
            required.append(word)
        return (PLAIN + word) if node == "plain" else (HTML + f"<p>{word}</p>")
    kind, children = node
    counter[0] += 1
    boundary = f"bnd{counter[0]}"
    # Under an alternative only one branch need survive; which one is the parser's choice, so none is required.
    parts = [_render(child, counter, required, needed and kind == "mixed") for child in children]
    return _multipart(f"multipart/{kind}", *parts, boundary=boundary)


@settings(max_examples=150, deadline=None)
@given(_tree())
def test_every_part_that_is_no_alternative_of_another_reaches_the_text(tree: Any) -> None:
    required: list[str] = []
    body = _render(tree if not isinstance(tree, str) else ("mixed", [tree]), [0], required, True)
    head, rest = body.split("\n\n", 1)
    parsed = parse_email(_mail("From: a@example.com\nMIME-Version: 1.0\n" + head, rest))
    words = parsed.text.split()
    assert [w for w in words if w in required] == required  # each once, in document order
    assert parsed.text.strip()  # an alternative always leaves one branch


def test_only_the_first_few_later_from_headers_are_tried() -> None:
    unusable = "".join("From: Webform\n" for _ in range(2000))
    parsed = parse_email(_mail(unusable + "From: late@example.com\nReply-To: anna@example.com"))
    assert (parsed.from_address, parsed.sender_source) == ("anna@example.com", SenderSource.REPLY_TO)
