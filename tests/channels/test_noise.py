"""The noise guard: auto-replies, out-of-office, bulk, lists, daemons, and their precedence."""

from __future__ import annotations

import pytest

from channels.email.parse import NoiseKind, parse_email


def _noise(*headers: tuple[str, str], body: str = "Hello there.\n") -> NoiseKind:
    all_headers = (("From", "someone@example.com"), ("To", "support@wedsync.test"), *headers)
    if not any(name == "Subject" for name, _ in headers):
        all_headers = (*all_headers, ("Subject", "Question about my account"))
    head = "\r\n".join(f"{name}: {value}" for name, value in all_headers)
    return parse_email(f"{head}\r\n\r\n{body}".encode()).noise


def test_a_normal_human_message_is_not_noise() -> None:
    assert _noise() is NoiseKind.NONE


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "auto-notified", "Auto-Generated; owner=x"])
def test_auto_submitted_other_than_no_is_an_auto_reply(value: str) -> None:
    assert _noise(("Auto-Submitted", value)) is NoiseKind.AUTO_REPLY


@pytest.mark.parametrize("value", ["no", "No", "no (human)"])
def test_auto_submitted_no_is_not_noise(value: str) -> None:
    assert _noise(("Auto-Submitted", value)) is NoiseKind.NONE


@pytest.mark.parametrize("header", ["X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Response-Suppress"])
def test_autoreply_headers_make_an_auto_reply(header: str) -> None:
    assert _noise((header, "yes" if "Suppress" not in header else "All")) is NoiseKind.AUTO_REPLY


def test_precedence_auto_reply_is_an_auto_reply() -> None:
    assert _noise(("Precedence", "auto_reply")) is NoiseKind.AUTO_REPLY


def test_a_read_receipt_is_an_auto_reply() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: Read: your ticket\r\n"
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n--B\r\n"
        b"Content-Type: message/disposition-notification\r\n\r\nDisposition: manual-action/MDN-sent-manually; displayed"
        b"\r\n--B--\r\n"
    )
    assert parse_email(raw).noise is NoiseKind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Question about my account",
        "Out of the office until Monday",
        "Automatic reply: Your ticket #123",
        "Autoreply: Your ticket",
        "Auto-Reply: Your ticket",
        "[Auto-Reply] Your ticket",
        "Abwesenheitsnotiz: Ihre Anfrage",
        "Automatische Antwort: Ihre Anfrage",
        "Réponse automatique : Votre demande",
        "Absence : retour le 10 juin",
        "Respuesta automática: Su solicitud",
        "Fuera de la oficina: Su solicitud",
        "Risposta automatica: La tua richiesta",
        "Fuori ufficio: La tua richiesta",
        "Automatisch antwoord: Uw vraag",
        "Afwezig: Uw vraag",
        "Resposta automática: Seu pedido",
        "Ausente: Seu pedido",
        "Frånvaro: Din fråga",
        "Autosvar: Din fråga",
        "Automatisk svar: Dit spørgsmål",
        "Fravær: Ditt spørsmål",
        "Automatyczna odpowiedź: Twoje zapytanie",
        "Poza biurem: Twoje zapytanie",
    ],
)
def test_an_out_of_office_subject_is_out_of_office_even_without_headers(subject: str) -> None:
    assert _noise(("Subject", subject)) is NoiseKind.OUT_OF_OFFICE


@pytest.mark.parametrize(
    "subject",
    ["Absence of the RSVP button", "Absent guests are shown as attending", "Autosave lost my seating plan"],
)
def test_subjects_that_only_start_with_an_absence_word_are_not_out_of_office(subject: str) -> None:
    assert _noise(("Subject", subject)) is NoiseKind.NONE


@pytest.mark.parametrize(
    "body",
    [
        "I am out of the office until 10 June with limited access to email.",
        "Ich bin bis zum 10. Juni nicht im Büro.",
        "Je suis absente du bureau jusqu'au 10 juin.",
        "Estoy de vacaciones hasta el 10 de junio.",
        "Sono in ferie fino al 10 giugno.",
        "Ik ben met vakantie tot 10 juni.",
        "Estou de férias até 10 de junho.",
        "Jag är på semester till den 10 juni.",
        "Jeg er på ferie indtil 10. juni.",
        "Jestem na urlopie do 10 czerwca.",
        "Hi, I'm away until 10 June and will reply when I'm back.",
    ],
)
def test_an_auto_reply_saying_the_sender_is_away_is_out_of_office(body: str) -> None:
    assert _noise(("Auto-Submitted", "auto-replied"), ("Subject", "Re: Question"), body=body) is NoiseKind.OUT_OF_OFFICE


def test_an_auto_reply_that_is_not_about_absence_stays_an_auto_reply() -> None:
    body = "Thank you for contacting us. We received your request and will answer within 24 hours."
    assert _noise(("Auto-Submitted", "auto-replied"), ("Subject", "We got your message"), body=body) is (
        NoiseKind.AUTO_REPLY
    )


def test_auto_submitted_naming_vacation_is_out_of_office() -> None:
    assert _noise(("Auto-Submitted", "auto-replied (vacation)"), ("Subject", "Re: hi")) is NoiseKind.OUT_OF_OFFICE


def test_a_human_mentioning_a_vacation_is_not_out_of_office() -> None:
    assert _noise(body="I was on vacation, so I could not reply. The export still fails.") is NoiseKind.NONE


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk"])
def test_precedence_bulk_junk_or_list_is_bulk(value: str) -> None:
    assert _noise(("Precedence", value)) is NoiseKind.BULK


@pytest.mark.parametrize(
    "header",
    [
        ("List-Id", "<news.example.com>"),
        ("List-Unsubscribe", "<mailto:u@example.com>"),
        ("List-Post", "<mailto:list@example.com>"),
    ],
)
def test_list_headers_make_list_mail(header: tuple[str, str]) -> None:
    assert _noise(header) is NoiseKind.LIST


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.com",
        "noreply@service.example",
        "no-reply@service.example",
        "do-not-reply@service.example",
        "donotreply@service.example",
        "notifications-noreply@service.example",
        "no_reply.billing@service.example",
    ],
)
def test_system_senders_are_daemon_noise(sender: str) -> None:
    raw = f"From: {sender}\r\nSubject: Your weekly summary\r\n\r\nsummary".encode()
    assert parse_email(raw).noise is NoiseKind.DAEMON


@pytest.mark.parametrize("sender", ["noreen@example.com", "replyteam@example.com", "postmaster.fan@example.com"])
def test_people_whose_names_look_a_bit_like_system_senders_are_not_noise(sender: str) -> None:
    raw = f"From: {sender}\r\nSubject: help\r\n\r\nhello".encode()
    assert parse_email(raw).noise is NoiseKind.NONE


def test_a_noreply_relay_with_a_human_reply_to_is_not_noise() -> None:
    raw = b"From: noreply@forms.example\r\nReply-To: Anna <anna@example.com>\r\nSubject: Contact form\r\n\r\nhelp"
    assert parse_email(raw).noise is NoiseKind.NONE


def test_out_of_office_wins_over_precedence_bulk() -> None:
    headers = (("Auto-Submitted", "auto-replied"), ("Precedence", "bulk"), ("Subject", "Out of Office: hi"))
    assert _noise(*headers) is NoiseKind.OUT_OF_OFFICE


def test_auto_reply_wins_over_bulk_and_list() -> None:
    headers = (("X-Autoreply", "yes"), ("Precedence", "bulk"), ("List-Id", "<l.example.com>"))
    assert _noise(*headers) is NoiseKind.AUTO_REPLY


def test_bulk_wins_over_list_and_daemon() -> None:
    raw = b"From: noreply@news.example\r\nPrecedence: bulk\r\nList-Id: <news.example>\r\nSubject: News\r\n\r\nx"
    assert parse_email(raw).noise is NoiseKind.BULK


def test_list_wins_over_daemon() -> None:
    raw = b"From: noreply@news.example\r\nList-Unsubscribe: <mailto:u@news.example>\r\nSubject: News\r\n\r\nx"
    assert parse_email(raw).noise is NoiseKind.LIST


def test_an_exchange_out_of_office_reply_is_out_of_office() -> None:
    raw = (
        b"From: Anna <anna@example.com>\r\nTo: support@wedsync.test\r\n"
        b"Subject: Automatic reply: [#123] Your seating plan\r\nAuto-Submitted: auto-generated\r\n"
        b"X-Auto-Response-Suppress: All\r\nX-MS-Exchange-Inbox-Rules-Loop: anna@example.com\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nI am currently on leave and will return on 10 June.\r\n"
    )
    assert parse_email(raw).noise is NoiseKind.OUT_OF_OFFICE


def test_a_ticket_system_acknowledgement_is_an_auto_reply() -> None:
    raw = (
        b"From: Help Desk <help@vendor.example>\r\nSubject: [Request received] Re: invoice\r\n"
        b"Auto-Submitted: auto-replied\r\nPrecedence: bulk\r\n\r\nWe received your request #4711.\r\n"
    )
    assert parse_email(raw).noise is NoiseKind.AUTO_REPLY
