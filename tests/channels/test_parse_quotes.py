"""strip_quotes and new_text: quoted history and signatures in the mail clients and languages we see."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from channels.email.parse import parse_email, strip_quotes

NEW = "Thanks, the seating plan works now.\nOne more question about the RSVP form."
OLD = "Please try clearing the cache.\nBest, Support"


def _quoted(lines: str) -> str:
    return "\n".join("> " + line for line in lines.splitlines())


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Jun 2024 at 10:00, Support Team <support@wedsync.test> wrote:",  # Gmail
        "On Mon, Jun 3, 2024 at 10:00 AM Support Team <support@wedsync.test> wrote:",  # Gmail (US)
        "On 3 Jun 2024, at 10:00, Support Team <support@wedsync.test> wrote:",  # Apple Mail
        "On 03/06/2024 10:00, Support Team wrote:",  # Thunderbird
        "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Support Team <support@wedsync.test>:",
        "Am 03.06.2024 um 10:00 schrieb Support Team:",
        "Le lun. 3 juin 2024 à 10:00, Support Team <support@wedsync.test> a écrit :",
        "Le 3 juin 2024 à 10:00, Support Team <support@wedsync.test> a\u00a0écrit\u00a0:",
        "El lun, 3 jun 2024 a las 10:00, Support Team (<support@wedsync.test>) escribió:",
        "Il giorno lun 3 giu 2024 alle ore 10:00 Support Team <support@wedsync.test> ha scritto:",
        "Op ma 3 jun. 2024 om 10:00 schreef Support Team <support@wedsync.test>:",
        "Em seg., 3 de jun. de 2024 às 10:00, Support Team <support@wedsync.test> escreveu:",
        "Den mån 3 juni 2024 kl 10:00 skrev Support Team <support@wedsync.test>:",
        "Den 3. jun. 2024 kl. 10.00 skrev Support Team <support@wedsync.test>:",  # Danish/Norwegian
        "W dniu 3.06.2024 o 10:00, Support Team <support@wedsync.test> pisze:",
        "pon., 3 cze 2024 o 10:00 Support Team <support@wedsync.test> napisał(a):",
        "Support Team <support@wedsync.test> skrev:",
    ],
)
def test_an_attribution_and_its_quote_are_removed(attribution: str) -> None:
    assert strip_quotes(f"{NEW}\n\n{attribution}\n{_quoted(OLD)}\n") == NEW


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 3 Jun 2024 at 10:00, Support Team <support@wedsync.test> wrote:",
        "Am 03.06.2024 um 10:00 schrieb Support Team <support@wedsync.test>:",
        "Le 3 juin 2024 à 10:00, Support Team <support@wedsync.test> a écrit :",
        "W dniu 3.06.2024 o 10:00, Support Team <support@wedsync.test> napisał(a):",
    ],
)
def test_an_attribution_followed_by_unprefixed_history_ends_the_new_text(attribution: str) -> None:
    assert strip_quotes(f"{NEW}\n\n{attribution}\n\n{OLD}\n") == NEW


def test_a_gmail_attribution_wrapped_over_two_lines_is_recognised() -> None:
    text = (
        f"{NEW}\n\nOn Mon, 3 Jun 2024 at 10:00, Wedding Support Team of WedSync <\n"
        f"support-team@wedsync.test> wrote:\n\n{OLD}\n"
    )
    assert strip_quotes(text) == NEW


def test_a_line_that_mentions_wrote_inside_a_paragraph_is_kept() -> None:
    text = (
        "Hi,\nmy planner wrote: the guest list is gone.\nAs I wrote in May, on 3 June we\n"
        "wrote to you and you wrote:\nthat it would be fixed.\nThanks"
    )
    assert strip_quotes(text) == text


def test_a_short_wrote_line_without_quote_or_date_is_kept() -> None:
    text = "Hi,\n\nMy colleague wrote:\nthe export button is missing.\n\nThanks"
    assert strip_quotes(text) == text


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "-----Messaggio originale-----",
        "-----Oorspronkelijk bericht-----",
        "-----Mensagem original-----",
        "-----Ursprungligt meddelande-----",
        "-----Oprindelig meddelelse-----",
        "-----Wiadomość oryginalna-----",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "________________________________",
    ],
)
def test_an_original_message_separator_ends_the_new_text(separator: str) -> None:
    assert strip_quotes(f"{NEW}\n\n{separator}\nFrom: Support\nblah\n\n{OLD}") == NEW


@pytest.mark.parametrize(
    "block",
    [
        "From: Support Team <support@wedsync.test>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Anna\nSubject: Re: help",
        "From: Support Team\nDate: Monday, 3 June 2024 at 10:00\nTo: Anna\nSubject: Re: help",
        "*From:* Support Team\n*Sent:* Monday\n*To:* Anna\n*Subject:* Re: help",
        "Von: Support Team <support@wedsync.test>\nGesendet: Montag, 3. Juni 2024 10:00\nAn: Anna\nBetreff: AW: Hilfe",
        "De : Support Team\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Anna\nObjet : RE: aide",
        "De: Support Team\nEnviado: lunes, 3 de junio de 2024 10:00\nPara: Anna\nAsunto: RE: ayuda",
        "De: Support Team\nEnviado el: lunes, 3 de junio de 2024 10:00\nPara: Anna\nAsunto: RE: ayuda",
        "Da: Support Team\nInviato: lunedì 3 giugno 2024 10:00\nA: Anna\nOggetto: R: aiuto",
        "Van: Support Team\nVerzonden: maandag 3 juni 2024 10:00\nAan: Anna\nOnderwerp: RE: hulp",
        "De: Support Team\nEnviada em: segunda-feira, 3 de junho de 2024 10:00\nPara: Anna\nAssunto: RE: ajuda",
        "Från: Support Team\nSkickat: den 3 juni 2024 10:00\nTill: Anna\nÄmne: SV: hjälp",
        "Fra: Support Team\nSendt: 3. juni 2024 10:00\nTil: Anna\nEmne: SV: hjælp",
        "Od: Support Team\nWysłano: poniedziałek, 3 czerwca 2024 10:00\nDo: Anna\nTemat: RE: pomoc",
        "From: Support Team Sent: Monday, June 3, 2024 10:00 AM To: Anna Subject: Re: help",
    ],
)
def test_an_outlook_header_block_ends_the_new_text(block: str) -> None:
    assert strip_quotes(f"{NEW}\n\n{block}\n\n{OLD}") == NEW


def test_a_lone_from_line_in_prose_is_kept() -> None:
    text = "Hi,\nFrom: the venue manager, I heard the form is broken.\nCan you check?"
    assert strip_quotes(text) == text


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Galaxy S23 Ultra",
        "Sent from Outlook for iOS",
        "Get Outlook for Android<https://aka.ms/ghei36>",
        "Sent from Mail for Windows",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato da iPhone",
        "Verzonden vanaf mijn iPhone",
        "Enviado do meu iPhone",
        "Skickat från min iPhone",
        "Sendt fra min iPhone",
        "Wysłane z mojego iPhone'a".replace("'a", ""),
    ],
)
def test_a_mobile_footer_ends_the_new_text(footer: str) -> None:
    text = f"{NEW}\n\n{footer}\n\nOn 3 Jun 2024, at 10:00, Support <support@wedsync.test> wrote:\n\n{OLD}"
    assert strip_quotes(text) == NEW


def test_a_sentence_starting_like_a_footer_inside_a_paragraph_is_kept() -> None:
    text = "Sent from my iPhone earlier today, the invite had a typo\nand nobody could RSVP.\nPlease help."
    assert strip_quotes(text) == text


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_the_signature_delimiter_ends_the_new_text(delimiter: str) -> None:
    assert strip_quotes(f"{NEW}\n{delimiter}\nAnna Smith\nWedding Planner\n+44 20 1234 5678") == NEW


def test_interleaved_answers_between_quoted_lines_are_kept() -> None:
    text = (
        "On Mon, 3 Jun 2024 at 10:00, Support <support@wedsync.test> wrote:\n"
        "> Which browser do you use?\nFirefox 126.\n\n> Does it happen on the guest list too?\nYes, there too.\n"
    )
    assert strip_quotes(text) == "Firefox 126.\n\nYes, there too."


def test_nested_quote_chains_are_removed_entirely() -> None:
    chain = "\n".join(">" * depth + " line" for depth in range(1, 30))
    assert strip_quotes(f"{NEW}\n\n{chain}") == NEW


def test_windows_line_endings_are_handled() -> None:
    text = f"{NEW}\r\n\r\nOn Mon, 3 Jun 2024 at 10:00, S <s@wedsync.test> wrote:\r\n> old\r\n"
    assert strip_quotes(text) == NEW


def test_a_text_that_is_only_a_quote_strips_to_nothing() -> None:
    assert strip_quotes("> only\n> quoted\n") == ""


def test_new_text_falls_back_to_the_whole_text_when_stripping_leaves_nothing() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content("-----Original Message-----\nFrom: Support\nSent: today\nTo: Anna\nSubject: hi\n\nold words\n")
    parsed = parse_email(msg.as_bytes())
    assert parsed.new_text == parsed.text
    assert parsed.new_text.startswith("-----Original Message-----")


def test_new_text_of_a_gmail_html_reply_drops_the_blockquote() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content(
        '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote"><div class="gmail_attr">'
        "On Mon, 3 Jun 2024 at 10:00, Support &lt;support@wedsync.test&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Please clear the cache.<br>Best</blockquote></div>',
        subtype="html",
    )
    assert parse_email(msg.as_bytes()).new_text == "Works now, thanks!"


def test_new_text_of_an_outlook_html_reply_drops_the_history() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content(
        "<p>It still fails.</p><div id='appendonsend'></div><hr><div id='divRplyFwdMsg'>"
        "<b>From:</b> Support &lt;support@wedsync.test&gt;<br><b>Sent:</b> Monday, June 3, 2024 10:00<br>"
        "<b>To:</b> Anna<br><b>Subject:</b> Re: help</div><p>Please clear the cache.</p>",
        subtype="html",
    )
    assert parse_email(msg.as_bytes()).new_text == "It still fails."


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "plain", "> q", "a\r\nb\rc", "x\n-- \n", "  padded  \n\n\n\n\nlines  "],
)
def test_strip_quotes_never_returns_more_than_its_input(text: str) -> None:
    assert len(strip_quotes(text)) <= len(text)


def test_a_mobile_footer_directly_above_an_outlook_separator_is_removed() -> None:
    text = f"{NEW}\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Support\n"
    assert strip_quotes(text) == NEW
