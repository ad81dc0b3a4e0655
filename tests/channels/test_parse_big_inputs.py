"""Big bodies and long quote chains parse correctly. How fast (and that it stays linear) is measured by
bench/bench_parse.py, not asserted here: a quadratic regex would show there, and as a test timeout here."""

from __future__ import annotations

from email.message import EmailMessage

from channels.email.parse import parse_email, strip_quotes


def _mail(body: str, subtype: str = "plain") -> bytes:
    msg = EmailMessage()
    msg["From"] = "anna@example.com"
    msg["Subject"] = "big"
    msg.set_content(body, subtype=subtype)
    return msg.as_bytes()


def test_a_2_mb_plain_body_parses_whole() -> None:
    body = "Please help, the export of the guest list fails, as I wrote: again and again.\n" * 27000
    raw = _mail(body)
    assert len(raw) > 2_000_000
    assert parse_email(raw).text.count("\n") == 26999


def test_a_1000_line_quote_chain_strips_to_the_new_words() -> None:
    chain = "\n".join(
        ">" * (i % 40 + 1) + f" On Mon, 3 Jun 2024 at 10:{i % 60:02d}, A <a@example.com> wrote:" for i in range(1000)
    )
    text = "New words.\n\n" + chain
    assert strip_quotes(text) == "New words."


def test_a_2_mb_body_of_near_miss_lines_keeps_its_own_words() -> None:
    lines = [
        "On " + "wrote " * 60 + ":",  # nearly an attribution: many verbs, no date
        "From: someone",  # nearly an Outlook header block
        "_" * 25,  # nearly a separator
        "Sent from my " + "x" * 200,  # nearly a footer
        "-" * 300 + " Original",  # nearly a separator
    ]
    text = "\n".join(lines * 3000) + "\n" + "a" * 500_000
    assert len(text) > 2_000_000
    stripped = strip_quotes(text)
    assert len(stripped) <= len(text) and stripped.endswith("a" * 1000)


def test_a_2_mb_html_body_converts_to_text() -> None:
    markup = "<div><p>Hello <b>there</b>, see <a href='https://x.test/'>this</a><br>line</p></div>\n" * 26000
    raw = _mail(markup, subtype="html")
    assert len(raw) > 2_000_000
    assert "Hello there, see this" in parse_email(raw).text


def test_huge_headers_parse() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: "
        + b"=?utf-8?B?w6k=?= " * 20000
        + b"\r\nReferences: "
        + b"<id@example.com> " * 20000
        + b"\r\nTo: "
        + b"guest@example.com, " * 5000
        + b"\r\nMessage-ID: "
        + b"x" * 200_000
        + b"\r\n\r\nbody"
    )
    parsed = parse_email(raw)
    assert len(parsed.references) == 1 and len(parsed.to) == 1  # the same id and address, de-duplicated
    assert parsed.text.strip() == "body"
