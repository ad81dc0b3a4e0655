"""Replies carry an agent's files as MIME attachments; a file's name is never a way into the headers."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy

from channels.email.outbound import OutgoingAttachment, attachment_filename, build_reply

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4


def _reply(*files: OutgoingAttachment) -> EmailMessage:
    return build_reply(from_address="support@wedsync.com", from_name="WedSync Support", to="anna@example.com",
                       subject="My form won't save", ticket_id="FB-1", body_text="Here is the guide.",
                       message_id="abc@wedsync.com", in_reply_to=None, references=[], auto_submitted=False,
                       now=datetime(2026, 12, 3, 9, 0, tzinfo=UTC), attachments=files)


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_reply_with_files_is_multipart_with_the_text_first_and_each_file_byte_for_byte() -> None:
    parsed = _parsed(_reply(OutgoingAttachment("guide.pdf", "application/pdf", PDF),
                            OutgoingAttachment("Plan de table é.csv", "text/csv", "a;b\né;ü\n".encode())))
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(("plain",))
    assert body is not None and "Here is the guide." in body.get_content()
    files = list(parsed.iter_attachments())
    assert [f.get_filename() for f in files] == ["guide.pdf", "Plan de table é.csv"]
    assert [f.get_content() for f in files] == [PDF, "a;b\né;ü\n".encode()]
    assert files[0].get_content_type() == "application/pdf"


def test_a_file_name_with_line_breaks_or_paths_adds_no_header_and_keeps_only_its_name() -> None:
    sneaky = OutgoingAttachment("../../etc/x\r\nBcc: evil@example.net.pdf", "application/pdf", PDF)
    parsed = _parsed(_reply(sneaky))
    assert "Bcc" not in parsed and "evil@example.net" not in str(parsed.get_all("To"))
    (file,) = list(parsed.iter_attachments())
    assert file.get_filename() == "x Bcc: evil@example.net.pdf"


def test_a_content_type_that_is_not_one_is_sent_as_octet_stream() -> None:
    parsed = _parsed(_reply(OutgoingAttachment("a.bin", "image/png\r\nX-Evil: 1", b"\x89PNG")))
    (file,) = list(parsed.iter_attachments())
    assert file.get_content_type() == "application/octet-stream" and "X-Evil" not in file


def test_attachment_filenames_are_cleaned_and_bounded() -> None:
    assert attachment_filename("C:\\Users\\anna\\plan.pdf") == "plan.pdf"
    assert attachment_filename('say "hi".txt') == "say 'hi'.txt"
    assert attachment_filename("=?utf-8?q?x?=.pdf").startswith("= ?")
    assert attachment_filename("") == "attachment"
    long = attachment_filename("x" * 400 + ".pdf")
    assert len(long) == 150 and long.endswith(".pdf")
