"""Body selection, HTML to text, and attachments (inline images, .eml, winmail.dat, the cap)."""

from __future__ import annotations

import base64
import hashlib
import struct
from email.message import EmailMessage

from channels.email.parse import parse_email
from channels.email.tnef import extract


def _mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "anna@example.com"
    msg["To"] = "support@wedsync.test"
    msg["Subject"] = "test"
    return msg


HTML = """<html><head><style>p { color: red }</style><script>alert("x")</script></head>
<body><h1>Seating plan</h1><p>Hello <b>team</b>,</p><p>the export fails:<br>step one<br>step two</p>
<ul><li>first item</li><li>second item</li></ul>
<p>See <a href="https://wedsync.test/help?id=1">the help page</a> <img src="cid:logo" alt="logo"></p>
<table><tr><td>Guests</td><td>120</td></tr></table><p>caf&eacute; &amp; &lt;cake&gt;</p></body></html>"""


def test_html_only_mail_becomes_readable_text() -> None:
    msg = _mail()
    msg.set_content(HTML, subtype="html")
    text = parse_email(msg.as_bytes()).text
    assert text.splitlines()[:6] == ["Seating plan", "", "Hello team,", "", "the export fails:", "step one"]
    assert "  * first item\n  * second item" in text
    assert "See the help page" in text
    assert "Guests 120" in text
    assert "café & <cake>" in text


def test_html_only_mail_drops_tags_styles_scripts_and_link_targets() -> None:
    msg = _mail()
    msg.set_content(HTML, subtype="html")
    text = parse_email(msg.as_bytes()).text
    for noise in ("<p>", "<b>", "color: red", "alert", "https://", "cid:", "](", "**", "#"):
        assert noise not in text


def test_the_html_part_is_kept_decoded() -> None:
    msg = _mail()
    msg.set_content("plain words")
    msg.add_alternative("<p>Grüße <b>bold</b></p>", subtype="html")
    assert parse_email(msg.as_bytes()).html == "<p>Grüße <b>bold</b></p>\n"


def test_plain_text_is_preferred_when_both_parts_exist() -> None:
    msg = _mail()
    msg.set_content("the plain version")
    msg.add_alternative("<p>the html version</p>", subtype="html")
    assert parse_email(msg.as_bytes()).text == "the plain version"


def test_an_empty_plain_part_gives_way_to_the_html() -> None:
    msg = _mail()
    msg.set_content(" \n\n")
    msg.add_alternative("<p>the html version</p>", subtype="html")
    assert parse_email(msg.as_bytes()).text == "the html version"


def test_a_plain_mail_has_no_html() -> None:
    msg = _mail()
    msg.set_content("only text")
    assert parse_email(msg.as_bytes()).html is None


def test_an_html_charset_is_taken_from_its_meta_tag_when_the_header_has_none() -> None:
    body = '<html><head><meta charset="windows-1251"></head><body><p>Привет мир</p></body></html>'
    raw = b"From: a@example.com\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body.encode(
        "windows-1251"
    )
    assert parse_email(raw).text == "Привет мир"


def test_markup_that_breaks_the_html_parser_still_gives_text() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n<p>Hello &amp; welcome</p><![ broken <style>x{}</style>"
    )
    text = parse_email(raw).text
    assert "Hello & welcome" in text
    assert "x{}" not in text


def test_inline_text_parts_around_an_image_are_joined_in_order() -> None:
    msg = _mail()
    msg.set_content("before the picture")
    msg.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", disposition="inline")
    extra = EmailMessage()
    extra.set_content("after the picture")
    msg.attach(extra)
    assert parse_email(msg.as_bytes()).text == "before the picture\n\nafter the picture"


def test_an_attachment_gives_filename_type_size_and_sha256() -> None:
    data = b"%PDF-1.4 fake invoice" * 10
    msg = _mail()
    msg.set_content("see attached")
    msg.add_attachment(data, maintype="Application", subtype="PDF", filename="invoice.pdf")
    parsed = parse_email(msg.as_bytes())
    (attachment,) = parsed.attachments
    assert attachment.filename == "invoice.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(data)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.payload == data
    assert attachment.inline is False
    assert parsed.text == "see attached"


def test_a_text_file_attachment_is_not_part_of_the_body() -> None:
    msg = _mail()
    msg.set_content("body words")
    msg.add_attachment("log line 1\nlog line 2\n", filename="app.log")
    parsed = parse_email(msg.as_bytes())
    assert parsed.text == "body words"
    assert [a.filename for a in parsed.attachments] == ["app.log"]


def test_an_rfc2231_filename_is_decoded() -> None:
    msg = _mail()
    msg.set_content("x")
    msg.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="Rechnung März €.pdf")
    raw = msg.as_bytes()
    assert b"filename*=" in raw
    assert parse_email(raw).attachments[0].filename == "Rechnung März €.pdf"


def test_an_rfc2231_filename_with_continuations_and_latin1_is_decoded() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nbody\r\n--B\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*0*=iso-8859-1''Gr%FC%DFe%20aus;\r\n"
        b" filename*1*=%20K%F6ln.txt\r\n\r\ndata\r\n--B--\r\n"
    )
    assert parse_email(raw).attachments[0].filename == "Grüße aus Köln.txt"


def test_an_encoded_word_filename_and_a_raw_utf8_filename_are_decoded() -> None:
    raw = (
        "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        "Content-Type: text/plain\r\n\r\nbody\r\n--B\r\n"
        'Content-Type: image/jpeg; name="=?UTF-8?B?5ama56S8LmpwZw==?="\r\n\r\nxx\r\n--B\r\n'
        'Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename="Brautstrauß.jpg"\r\n\r\nyy\r\n--B--\r\n'
    ).encode()
    assert [a.filename for a in parse_email(raw).attachments] == ["婚礼.jpg", "Brautstrauß.jpg"]


def test_directory_parts_are_removed_from_filenames() -> None:
    msg = _mail()
    msg.set_content("x")
    msg.add_attachment(b"d", maintype="application", subtype="octet-stream", filename="..\\..\\windows\\evil.exe")
    assert parse_email(msg.as_bytes()).attachments[0].filename == "evil.exe"


def test_an_attachment_without_a_name_gets_a_generated_one() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nbody\r\n--B\r\nContent-Type: application/pdf\r\n\r\npdf\r\n--B\r\n"
        b"Content-Type: application/x-weird-thing\r\n\r\nstuff\r\n--B--\r\n"
    )
    assert [a.filename for a in parse_email(raw).attachments] == ["attachment-1.pdf", "attachment-2.bin"]


def test_an_inline_image_keeps_its_content_id_and_is_marked_inline() -> None:
    msg = _mail()
    msg.set_content("plain")
    msg.add_alternative('<p>Logo: <img src="cid:logo123@wedsync"></p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(
        b"\x89PNG logo", maintype="image", subtype="png", cid="<logo123@wedsync>", disposition="inline"
    )
    (image,) = parse_email(msg.as_bytes()).attachments
    assert image.inline is True
    assert image.content_id == "logo123@wedsync"
    assert image.content_type == "image/png"


def test_an_image_referenced_by_cid_counts_as_inline_even_without_inline_disposition() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/related; boundary=B\r\n\r\n--B\r\n"
        b'Content-Type: text/html\r\n\r\n<img src="cid:pic@x">\r\n--B\r\n'
        b"Content-Type: image/gif\r\nContent-ID: <pic@x>\r\n\r\nGIF\r\n--B\r\n"
        b"Content-Type: image/gif\r\nContent-ID: <unused@x>\r\n\r\nGIF\r\n--B--\r\n"
    )
    assert [(a.content_id, a.inline) for a in parse_email(raw).attachments] == [("pic@x", True), ("unused@x", False)]


def test_an_attached_message_is_an_eml_attachment_and_its_body_stays_out_of_the_text() -> None:
    inner = _mail()
    inner.replace_header("Subject", "the forwarded one")
    inner["Message-ID"] = "<inner@example.com>"
    inner.set_content("inner body words")
    msg = _mail()
    msg.set_content("see the forwarded mail")
    msg.add_attachment(inner)
    parsed = parse_email(msg.as_bytes())
    (eml,) = parsed.attachments
    assert eml.content_type == "message/rfc822"
    assert eml.filename == "attachment-1.eml"
    assert eml.payload is not None and b"inner body words" in eml.payload
    assert parsed.text == "see the forwarded mail"


def test_a_payload_above_the_cap_is_dropped_but_its_metadata_kept() -> None:
    data = b"x" * 5000
    msg = _mail()
    msg.set_content("big one")
    msg.add_attachment(data, maintype="application", subtype="zip", filename="big.zip")
    msg.add_attachment(b"small", maintype="application", subtype="zip", filename="small.zip")
    big, small = parse_email(msg.as_bytes(), attachment_cap=4096).attachments
    assert (big.payload, big.size, big.sha256) == (None, 5000, hashlib.sha256(data).hexdigest())
    assert small.payload == b"small"


def test_a_payload_exactly_at_the_cap_is_kept() -> None:
    msg = _mail()
    msg.set_content("x")
    msg.add_attachment(b"y" * 100, maintype="application", subtype="zip", filename="a.zip")
    assert parse_email(msg.as_bytes(), attachment_cap=100).attachments[0].payload == b"y" * 100


def test_a_calendar_invitation_is_an_attachment_not_body_text() -> None:
    msg = _mail()
    msg.set_content("invite below")
    msg.add_attachment("BEGIN:VCALENDAR\nEND:VCALENDAR\n", subtype="calendar")
    parsed = parse_email(msg.as_bytes())
    assert parsed.text == "invite below"
    assert parsed.attachments[0].content_type == "text/calendar"


def _tnef_attribute(level: int, attribute: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_long_filename(name: str) -> bytes:
    named = struct.pack("<HH", 0x0003, 0x8001) + b"\x11" * 16 + struct.pack("<II", 0, 7) + struct.pack("<I", 42)
    encoded = (name + "\x00").encode("utf-16-le")
    padding = b"\x00" * (-len(encoded) % 4)
    long_name = struct.pack("<HHII", 0x001F, 0x3707, 1, len(encoded)) + encoded + padding
    return struct.pack("<I", 2) + named + long_name


def _tnef(files: list[tuple[str, str, bytes]]) -> bytes:
    out = struct.pack("<IH", 0x223E9F78, 0x0001) + _tnef_attribute(1, 0x00089006, b"\x00\x00\x01\x00")
    for long_name, short_name, data in files:
        out += _tnef_attribute(2, 0x00069002, b"\x01\x00" + b"\x00" * 12)
        out += _tnef_attribute(2, 0x00018010, short_name.encode() + b"\x00")
        out += _tnef_attribute(2, 0x0006800F, data)
        if long_name:
            out += _tnef_attribute(2, 0x00069005, _mapi_long_filename(long_name))
    return out


def test_winmail_dat_is_kept_and_the_files_inside_it_are_extracted() -> None:
    blob = _tnef([("Quarterly report.docx", "QUARTE~1.DOC", b"docx bytes"), ("", "NOTES.TXT", b"notes")])
    msg = _mail()
    msg.set_content("see attached")
    msg.add_attachment(blob, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    names = [(a.filename, a.content_type, a.payload) for a in parse_email(msg.as_bytes()).attachments]
    assert names == [
        ("winmail.dat", "application/ms-tnef", blob),
        (
            "Quarterly report.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"docx bytes",
        ),
        ("NOTES.TXT", "text/plain", b"notes"),
    ]


def test_a_truncated_winmail_dat_is_kept_with_whatever_could_be_read() -> None:
    blob = _tnef([("a.txt", "A.TXT", b"first"), ("b.txt", "B.TXT", b"second file")])[:-30]
    msg = _mail()
    msg.set_content("x")
    msg.add_attachment(blob, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    files = parse_email(msg.as_bytes()).attachments
    assert files[0].filename == "winmail.dat"
    assert files[1].filename == "a.txt"


def test_tnef_extraction_of_non_tnef_bytes_gives_nothing() -> None:
    assert extract(b"not a tnef stream at all") == []
    assert extract(b"") == []


def test_a_base64_attachment_with_broken_padding_still_decodes() -> None:
    data = b"binary\x00\xff payload!"
    encoded = base64.b64encode(data).rstrip(b"=")
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: text/plain\r\n\r\nbody\r\n--B\r\nContent-Type: application/octet-stream; name=f.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n--B--\r\n"
    )
    assert parse_email(raw).attachments[0].payload == data


def test_a_multipart_without_its_boundary_still_gives_the_text_and_a_defect() -> None:
    raw = b"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nJust the words.\r\n"
    parsed = parse_email(raw)
    assert parsed.text == "Just the words."
    assert any("boundary" in d for d in parsed.defects)
