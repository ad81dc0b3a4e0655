"""Bounce detection: RFC 3464 delivery status notifications and classic MAILER-DAEMON bounces."""

from __future__ import annotations

from channels.email.parse import NoiseKind, parse_email


def _dsn(
    status_block: str,
    original: str = "message/rfc822",
    original_body: str = "Message-ID: <Orig-1@desk.wedsync.test>\r\nSubject: Your ticket\r\n\r\nHello\r\n",
    extra_headers: str = "",
) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@wedsync.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\n" + extra_headers + "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type="delivery-status"; boundary="RPT"\r\n\r\n'
        "--RPT\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        "--RPT\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\nArrival-Date: Mon, 3 Jun 2024 10:00:00 +0000\r\n\r\n"
        + status_block
        + f"\r\n--RPT\r\nContent-Type: {original}\r\n\r\n{original_body}\r\n--RPT--\r\n"
    ).encode()


FAILED_BLOCK = (
    "Final-Recipient: rfc822; Guest.One@Example.org\r\nOriginal-Recipient: rfc822;guest.one@example.org\r\n"
    "Action: failed\r\nStatus: 5.1.1 (bad destination mailbox address)\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
)


def test_a_delivery_status_notification_is_a_bounce_with_its_fields() -> None:
    parsed = parse_email(_dsn(FAILED_BLOCK))
    assert parsed.noise is NoiseKind.BOUNCE
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("guest.one@example.org",)
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.action == "failed"
    assert parsed.bounce.permanent is True
    assert parsed.bounce.original_message_id == "Orig-1@desk.wedsync.test"


def test_the_original_message_id_is_read_from_text_rfc822_headers() -> None:
    parsed = parse_email(_dsn(FAILED_BLOCK, original="text/rfc822-headers"))
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "Orig-1@desk.wedsync.test"


def test_the_original_message_id_falls_back_to_in_reply_to() -> None:
    raw = _dsn(
        FAILED_BLOCK,
        original="text/plain",
        original_body="nothing useful",
        extra_headers="In-Reply-To: <t-9@desk.wedsync.test>\r\n",
    )
    parsed = parse_email(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "t-9@desk.wedsync.test"


def test_a_delay_notification_is_a_bounce_that_is_not_permanent() -> None:
    block = "Final-Recipient: rfc822; slow@example.org\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
    parsed = parse_email(_dsn(block))
    assert parsed.bounce is not None
    assert (parsed.bounce.action, parsed.bounce.status, parsed.bounce.permanent) == ("delayed", "4.4.7", False)
    assert parsed.bounce.failed_recipients == ("slow@example.org",)


def test_several_recipients_are_all_listed_and_the_failed_one_sets_the_status() -> None:
    block = (
        "Final-Recipient: rfc822; ok@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        "Final-Recipient: rfc822; late@example.org\r\nAction: delayed\r\nStatus: 4.2.2\r\n\r\n"
        "Final-Recipient: rfc822; <gone@example.org>\r\nAction: failed\r\nStatus: 5.2.1\r\n"
    )
    parsed = parse_email(_dsn(block))
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("late@example.org", "gone@example.org")
    assert (parsed.bounce.status, parsed.bounce.action, parsed.bounce.permanent) == ("5.2.1", "failed", True)


def test_a_dsn_wins_over_auto_reply_headers() -> None:
    parsed = parse_email(_dsn(FAILED_BLOCK, extra_headers="Auto-Submitted: auto-replied\r\n"))
    assert parsed.noise is NoiseKind.BOUNCE


POSTFIX_TEXT = """This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<guest.two@example.org>: host mx.example.org[192.0.2.10] said: 550 5.1.1
    <guest.two@example.org>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

Return-Path: <support@wedsync.test>
Message-ID: <Orig-2@desk.wedsync.test>
Subject: Your ticket
"""


def _classic(sender: str, subject: str, body: str, extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@wedsync.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <classic@mx.example.com>\r\n{extra}\r\n{body}"
    ).encode()


def test_a_classic_postfix_bounce_is_read_from_its_text() -> None:
    parsed = parse_email(
        _classic(
            "MAILER-DAEMON@mx.example.com (Mail Delivery System)", "Undelivered Mail Returned to Sender", POSTFIX_TEXT
        )
    )
    assert parsed.noise is NoiseKind.BOUNCE
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "Orig-2@desk.wedsync.test"
    assert parsed.bounce.failed_recipients == ("guest.two@example.org",)
    assert (parsed.bounce.status, parsed.bounce.action, parsed.bounce.permanent) == ("5.1.1", "failed", True)


def test_an_exim_bounce_uses_x_failed_recipients() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\nA message that you sent could not "
        "be delivered to one or more of its\nrecipients. This is a permanent error.\n\n  guest3@example.org\n"
        "\n------ This is a copy of the message's headers. ------\n\n> Message-Id: <orig-3@desk.wedsync.test>\n"
    )
    parsed = parse_email(
        _classic(
            "Mail Delivery System <Mailer-Daemon@exim.example.com>",
            "Mail delivery failed: returning message to sender",
            body,
            "X-Failed-Recipients: Guest3@example.org\r\n",
        )
    )
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("guest3@example.org",)
    assert parsed.bounce.original_message_id == "orig-3@desk.wedsync.test"
    assert parsed.headers["x-failed-recipients"] == "Guest3@example.org"


def test_a_qmail_failure_notice_from_a_daemon_without_domain_is_a_bounce() -> None:
    body = "Hi. This is the qmail-send program.\n<guest4@example.org>:\nSorry, no mailbox here by that name.\n"
    parsed = parse_email(_classic("MAILER-DAEMON", "failure notice", body, "Return-Path: <>\r\n"))
    assert parsed.noise is NoiseKind.BOUNCE
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("guest4@example.org",)
    assert parsed.bounce.permanent is True


def test_a_gmail_style_dsn_subject_from_a_daemon_is_a_bounce_even_without_report_part() -> None:
    parsed = parse_email(
        _classic(
            "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
            "Delivery Status Notification (Failure)",
            "Your message wasn't delivered to guest5@example.org because the address couldn't be found.\n",
            "In-Reply-To: <t-5@desk.wedsync.test>\r\n",
        )
    )
    assert parsed.bounce is not None
    assert parsed.bounce.failed_recipients == ("guest5@example.org",)
    assert parsed.bounce.original_message_id == "t-5@desk.wedsync.test"


def test_a_classic_delay_warning_is_not_permanent() -> None:
    parsed = parse_email(
        _classic(
            "postmaster@mx.example.com",
            "Delivery Status Notification (Delay)",
            "Delivery to guest6@example.org has been delayed.\n",
        )
    )
    assert parsed.bounce is not None
    assert (parsed.bounce.action, parsed.bounce.permanent) == ("delayed", False)


def test_a_localized_bounce_subject_is_recognised() -> None:
    parsed = parse_email(_classic("postmaster@mx.example.de", "Unzustellbar: Ihre Anfrage", "Die Nachricht ..."))
    assert parsed.noise is NoiseKind.BOUNCE


def test_a_customer_complaining_about_undelivered_mail_is_not_a_bounce() -> None:
    parsed = parse_email(
        _classic(
            "anna@example.com",
            "Mail delivery failed for my invitations",
            "Hi, my guests say the invitations were undeliverable.\n",
        )
    )
    assert parsed.bounce is None
    assert parsed.noise is NoiseKind.NONE


def test_a_daemon_message_that_is_not_a_bounce_is_daemon_noise() -> None:
    parsed = parse_email(_classic("MAILER-DAEMON@mx.example.com", "Weekly quarantine digest", "3 messages held\n"))
    assert parsed.bounce is None
    assert parsed.noise is NoiseKind.DAEMON


def test_a_dsn_whose_status_part_is_unreadable_takes_the_status_from_the_text() -> None:
    raw = (
        b"From: postmaster@mx.example.com\r\nSubject: Undeliverable: hi\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nRemote server returned '550 5.4.1 Recipient address rejected'\r\n"
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\ngarbage without fields\r\n--R--\r\n"
    )
    bounce = parse_email(raw).bounce
    assert bounce is not None
    assert (bounce.status, bounce.action, bounce.permanent) == ("5.4.1", None, True)
