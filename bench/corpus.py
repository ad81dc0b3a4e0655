"""A deterministic generator of realistic WedSync support mail, as raw bytes, for the benchmarks.

``generate(count, seed)`` returns the same ``count`` messages for the same seed, byte for byte (one
``random.Random(seed)`` drives every choice; nothing reads the clock). The mix imitates a support inbox:

* new questions across the product's topics (forms not saving, CSV imports, payments, slowness, onboarding,
  refunds, integrations, data loss, security, email delivery, access, feature requests, plain questions),
  mostly in English, some in French, German, Spanish and Japanese;
* replies with quoted history in the style of the sender's client (Gmail "On ... wrote:" with ``>``
  quoting, Outlook's unprefixed ``From:/Sent:`` block or ``-----Original Message-----``, Apple Mail and
  iPhone ``> On ..., at ..., ... wrote:``, Thunderbird), carrying In-Reply-To/References to an earlier
  mail of the corpus so that threading finds the ticket. A reply is never closer than ``MIN_REPLY_GAP``
  positions to the mail it answers, so the earlier mail is handled first even when the corpus is sent
  over several SMTP connections at once. Some replies answer a (made-up) desk reply first, so that the
  earlier mail is found through References rather than In-Reply-To; some come from the colleague in cc
  (a participant: appended) and a few from a stranger (a new ticket linked to the old one);
* attachments (a small PDF invoice, a CSV guest list, a PNG screenshot; Outlook's signature logo as an
  inline image in multipart/related);
* odd encodings: quoted-printable and base64 UTF-8, ISO-8859-1, Windows-1252, ISO-2022-JP, a body in
  8-bit UTF-8 with no charset declared, RFC 2047 encoded names and subjects; HTML-only mail;
* a few out-of-office auto-replies (the desk ignores them or notes them on the ticket).

Senders come from a pool of about ``count / 3`` people, so customers write several times, but none
writes more than ``MAX_PER_SENDER`` (19) mails: under the desk's default limit of 20 an hour per sender.

CLI: ``python -m bench.corpus --count 1000 --out DIR [--seed N]`` writes ``DIR/0001-new-gmail-utf8-qp.eml``...
"""

from __future__ import annotations

import argparse
import base64
import html
import quopri
import random
import struct
import textwrap
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime, formataddr
from io import BytesIO
from pathlib import Path

SUPPORT_ADDRESS = "support@wedsync.com"
SUPPORT_NAME = "WedSync Support"
DEFAULT_SEED = 20261120
MIN_REPLY_GAP = 24  # positions between a mail and a reply to it (> the number of concurrent SMTP connections)
MAX_PER_SENDER = 19  # below the desk's default SENDER_RATE_PER_HOUR of 20
MAX_THREAD_LENGTH = 8
START = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)

_GENERATOR_POLICY = compat32.clone(linesep="\r\n")


# --------------------------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Topic:
    name: str
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]  # paragraphs separated by blank lines; {slots} filled in by _fill
    attachment: str | None = None  # the kind of file customers of this topic tend to attach


TOPICS: tuple[Topic, ...] = (
    Topic(
        "forms",
        ("Forms not saving", "Client questionnaire won't save answers", "Form builder keeps losing my changes",
         "URGENT: couple can't submit their form", "form not saving - again"),
        (
            "I've been building a new questionnaire for my {role} clients and every time I press save the form "
            "just spins and then nothing is saved. I've tried it {n} times now in {browser}.\n\nWhen I reload "
            "the page all the new questions are gone. This is the third form I've lost this week and I have "
            "couples waiting for it. Is something broken on your end?",
            "One of my couples, {couple}, is trying to fill in their {form} and says it won't save. They get to "
            "the end, press submit and it just sits there. They've tried on their phone and a laptop.\n\nTheir "
            "wedding is on {date} so I really need their answers this week. Can you have a look?",
            "The form won't save any changes since this morning. I add a question, click Save, the button goes "
            "grey and after a minute I get \"Something went wrong\". Other pages work fine.\n\nI'm on {browser} "
            "on a Mac. I've cleared the cache and logged out and in again.",
        ),
        "png",
    ),
    Topic(
        "csv",
        ("CSV import failing", "Guest list import error", "Can't import my client spreadsheet",
         "Import CSV stuck at 0%", "Problem importing contacts from CSV"),
        (
            "I'm trying to import my client list from a CSV file exported from {old_tool}. It has about {big} rows. "
            "The import gets to \"Processing\" and then says \"Row {n}: invalid date\" but that row looks fine "
            "to me.\n\nI've attached the file. Could you tell me what format the dates need to be in?",
            "The guest list import isn't working. I upload the spreadsheet, map the columns, press Import and it "
            "stays at 0% forever. I left it for an hour. The file is only {n} KB.\n\nIs there a size limit or "
            "something I'm missing? I've attached the CSV.",
            "Every time I try to import a CSV of my enquiries I get an error saying the email column is missing, "
            "but it's definitely there (column C). I saved it from Excel as CSV UTF-8.\n\nWe're moving over from "
            "{old_tool} and I have {big} past clients to bring across.",
        ),
        "csv",
    ),
    Topic(
        "payment",
        ("Payment failed", "Card declined on renewal", "Billing error when upgrading", "My payment keeps failing",
         "payment failed twice"),
        (
            "My payment failed when the subscription tried to renew this morning. The card is fine, I used it "
            "for something else an hour ago. The account now says it will be suspended in {n} days.\n\nPlease "
            "can you check what's going on? I don't want to lose access in the middle of wedding season.",
            "I tried to upgrade to the {plan} plan and got a billing error: \"Your card was declined\". My bank "
            "says they haven't blocked anything. I've tried two different cards.\n\nCan I pay by bank transfer "
            "instead?",
            "The payment for my couple's deposit failed ({amount}) and they've been charged by their bank a fee. "
            "They're asking me what happened. Can you see anything on your side?",
        ),
        "pdf",
    ),
    Topic(
        "slow",
        ("Dashboard really slow today", "WedSync so slow", "Journey canvas lagging", "Pages stuck loading",
         "Everything is slow"),
        (
            "The dashboard is really slow today. Every page takes {n} seconds or more to load and the client "
            "list sometimes doesn't load at all. My internet is fine, everything else is fast.\n\nI'm using "
            "{browser}. Is there an outage?",
            "The journey canvas is lagging badly when I drag steps around. With more than about {n} steps it "
            "freezes for a few seconds after every change. It used to be fine.\n\nI have {big} clients on my "
            "account if that matters.",
            "Pages keep getting stuck loading. The spinner goes round and round and then I have to refresh. It "
            "happens most on the calendar and the inbox.",
        ),
        "png",
    ),
    Topic(
        "onboarding",
        ("Just signed up - where do I start?", "Help setting up my account", "Getting started with WedSync",
         "New account setup questions", "Onboarding call?"),
        (
            "Hi! I just signed up for WedSync as a {role} and I'm a bit lost. Where do I start? I'd like to "
            "get my packages and my contract template in first.\n\nIs there a getting started guide or could "
            "someone walk me through it?",
            "We've just set up a new account for our venue ({business}). A couple of questions: can I add my "
            "two coordinators as team members, and how do I connect my own email so replies come to me?\n\n"
            "Also is there an onboarding call available?",
            "I'm new to WedSync and trying to set up my first client. I've added them but I can't see how to "
            "send them the questionnaire. Sorry if this is obvious!",
        ),
        None,
    ),
    Topic(
        "refund",
        ("Refund request", "Charged twice this month", "Please refund my annual plan", "Double charged??",
         "Money back please"),
        (
            "I've been charged twice this month, {amount} on the 1st and again on the 3rd. Please can you "
            "refund the second payment? I've attached the statement.",
            "I signed up for the annual plan by mistake, I meant to choose monthly. Can I have a refund and "
            "switch to monthly? It was only {n} days ago.",
            "We're closing the business at the end of the month so I'd like to cancel and get a refund for the "
            "unused months if that's possible. Invoice attached.",
        ),
        "pdf",
    ),
    Topic(
        "integration",
        ("Zapier integration not triggering", "Google Calendar sync stopped", "Xero invoices not syncing",
         "Mailchimp integration question", "Webhook not firing"),
        (
            "My Zapier zap that adds new enquiries to a Google Sheet has stopped triggering. It worked until "
            "{date}. Zapier says the connection is fine but no new data comes through.",
            "Google Calendar sync stopped working. Bookings I make in WedSync don't show up in my calendar any "
            "more and I nearly double booked a wedding on {date}! I've disconnected and reconnected.",
            "Invoices from WedSync aren't syncing to Xero since last week. The integration page says "
            "\"connected\" but the last sync was {n} days ago.",
        ),
        "png",
    ),
    Topic(
        "data_loss",
        ("All my client data has disappeared", "Forms deleted?!", "Guest list gone after update",
         "Missing submissions", "HELP - clients missing"),
        (
            "I logged in this morning and all my client data has disappeared. The client list is empty. I had "
            "{big} clients in there with all their notes and contracts. Please tell me this can be recovered, "
            "I have weddings every weekend.",
            "Half of my forms have been deleted. I didn't delete them and I'm the only one with access. There "
            "were {n} forms yesterday, now there are only {small}.",
            "The guest list for {couple} is gone after the update last night. The page shows 0 guests. They had "
            "{big} guests with table numbers.",
        ),
        None,
    ),
    Topic(
        "security",
        ("Suspicious login on my account", "Did someone hack my account?", "2FA code not arriving",
         "Unknown device signed in"),
        (
            "I got an email saying there was a login to my account from a device I don't recognise (in {place}). "
            "It wasn't me. I've changed my password. Can you check if anything was changed?",
            "I think my account has been compromised. Someone sent messages to my couples from my account last "
            "night that I didn't write. Please help urgently.",
            "The two-factor code isn't arriving by SMS. I've waited {n} minutes and tried several times.",
        ),
        None,
    ),
    Topic(
        "email",
        ("Emails not being delivered to my couples", "Confirmation emails going to spam",
         "Email template broken", "Couples not receiving my emails"),
        (
            "My couples say they aren't receiving the emails I send from WedSync. {couple} never got their "
            "booking confirmation. I checked and it says sent.",
            "Everything I send from WedSync is going to spam for Gmail users. It started about {n} days ago.",
            "My email template looks broken, the logo is huge and the text is squashed on the right.",
        ),
        "png",
    ),
    Topic(
        "access",
        ("Can't log in", "Cannot access my account", "Locked out", "Password reset not working"),
        (
            "I cannot access my account. It says my password is wrong but I reset it twice and the new one "
            "doesn't work either. I have a wedding on {date} and all the timings are in there.",
            "I'm locked out after too many attempts. How long until I can try again?",
            "The password reset link says it has expired as soon as I click it.",
        ),
        None,
    ),
    Topic(
        "feature",
        ("Feature request: seating chart", "Suggestion for the timeline view", "Could you add a tip jar?",
         "Idea for the client portal"),
        (
            "It would be great if the seating chart could export to PDF with the table numbers. At the moment I "
            "redo it by hand for the venue.",
            "Please add a way to duplicate a timeline from one wedding to another. I do {n} weddings a year at "
            "the same venue and the timings are almost identical.",
            "A suggestion: could you add reminders to the client portal so couples get a nudge when a form is "
            "due?",
        ),
        None,
    ),
    Topic(
        "question",
        ("Quick question", "Question about contracts", "How do I change the date on a booking?", "Help please",
         "Contract signature"),
        (
            "How do I change the date on a booking? {couple} have moved their wedding to {date} and I can't see "
            "where to edit it.",
            "Can couples sign the contract on their phone, or do they need a computer?",
            "Is it possible to have two different price lists, one for weekdays and one for weekends?",
        ),
        None,
    ),
)

FOLLOW_UPS: tuple[str, ...] = (
    "Hi again, just following up on this - it's still happening this morning.",
    "Thanks for getting back to me. I tried clearing the cache like you said but no luck, same problem.",
    "Any update on this? We have a wedding on Saturday and I really need it working before then.",
    "That fixed it, thank you so much! You can close this.",
    "Thanks. It worked for a bit and now it's doing it again.",
    "I'm using {browser} on Windows 11. It happens on my phone too.",
    "Sorry, one more thing: it also happens for my colleague on her account.",
    "OK, I'll wait to hear from you. Please keep me updated.",
    "Still no luck I'm afraid. Is there someone I can call?",
)

ATTACHMENT_LINES = {
    "png": "Here's the screenshot you asked for.",
    "csv": "I've attached the file again so you can try it.",
    "pdf": "Please see the invoice attached.",
}

AGENT_REPLIES: tuple[str, ...] = (
    "Hi {first},\n\nThanks for getting in touch and sorry for the trouble. Could you tell us which browser "
    "you're using, and send a screenshot of what you see?\n\nBest wishes,\n{agent}\nWedSync Support",
    "Hi {first},\n\nThanks for your patience. Our team has had a look and we think this is fixed now. Could you "
    "try again and let us know?\n\nKind regards,\n{agent}\nWedSync Support",
    "Hi {first},\n\nI've passed this to our technical team and will update you as soon as I hear back.\n\n"
    "Thanks,\n{agent}\nWedSync Support",
)
AGENTS = ("Bea", "Tom", "Priya", "Callum", "Ines")

# Non-English mail: (subject, body) per language.
FOREIGN: dict[str, tuple[tuple[str, str], ...]] = {
    "fr": (
        ("Formulaire qui ne s'enregistre pas",
         "Bonjour,\n\nLe formulaire de mes mariés ne s'enregistre pas. Ils cliquent sur « Envoyer » et rien ne se "
         "passe. J'ai essayé sur {browser}, même problème.\n\nLeur mariage est le {date}, c'est assez urgent.\n\n"
         "Merci d'avance,"),
        ("Problème d'import CSV",
         "Bonjour,\n\nJe n'arrive pas à importer ma liste d'invités (fichier CSV). L'import s'arrête à la ligne "
         "{n} avec une erreur de date.\n\nCordialement,"),
        ("Paiement refusé",
         "Bonjour,\n\nMon paiement a échoué lors du renouvellement, la carte a été refusée. Pouvez-vous vérifier ?"
         "\n\nBien à vous,"),
        ("Demande de remboursement",
         "Bonjour,\n\nJ'ai été débité deux fois ce mois-ci ({amount}). Merci de me rembourser le deuxième "
         "prélèvement.\n\nCordialement,"),
    ),
    "de": (
        ("Formular speichert nicht",
         "Hallo,\n\nmein Fragebogen für Brautpaare lässt sich nicht speichern. Nach dem Klick auf „Speichern“ "
         "passiert nichts, und beim Neuladen sind alle Änderungen weg. Ich nutze {browser}.\n\nViele Grüße"),
        ("Zahlung fehlgeschlagen",
         "Guten Tag,\n\ndie Zahlung für mein Abo ist fehlgeschlagen, obwohl die Karte gültig ist. Bitte prüfen "
         "Sie das.\n\nMit freundlichen Grüßen"),
        ("CSV-Import schlägt fehl",
         "Hallo,\n\nder Import meiner Kundenliste (CSV, ca. {big} Zeilen) bricht immer bei Zeile {n} ab. Die Datei "
         "ist im Anhang.\n\nDanke und Grüße"),
        ("Alles sehr langsam",
         "Hallo,\n\nseit heute Morgen lädt das Dashboard extrem langsam, jede Seite braucht {n} Sekunden. Gibt es "
         "eine Störung?\n\nGrüße"),
    ),
    "es": (
        ("No se guarda el formulario",
         "Hola,\n\nel formulario de mis novios no se guarda. Pulsan «Enviar» y no pasa nada. La boda es el "
         "{date}, ¿me podéis ayudar?\n\nUn saludo,"),
        ("Pago rechazado",
         "Hola,\n\nel pago de la suscripción ha fallado y la tarjeta funciona bien. ¿Qué ha pasado?\n\nGracias,"),
        ("Reembolso",
         "Buenos días,\n\nme habéis cobrado dos veces este mes ({amount}). ¿Podéis devolverme el segundo cargo?"
         "\n\nSaludos,"),
    ),
    "ja": (
        ("フォームが保存できません",
         "WedSync サポート御中\n\nいつもお世話になっております。\n"
         "お客様用のアンケートフォームを編集して保存を押しても、保存されません。{browser} を使っています。\n\n"
         "{date} に挙式のお客様がいるため、至急ご確認をお願いします。\n\n"
         "よろしくお願いいたします。"),
        ("CSVインポートのエラーについて",
         "お世話になっております。\n\n顧客リストのCSVファイルをインポートすると、{n} 行目でエラーになります。\n"
         "ファイルを添付しますので、ご確認いただけますでしょうか。\n\nよろしくお願いいたします。"),
        ("支払いが失敗しました",
         "お世話になっております。\n\n本日、月額プランの更新で支払いが失敗しました。カードは有効です。\n"
         "確認をお願いいたします。"),
    ),
}
FOREIGN_FOLLOW_UPS = {
    "fr": ("Bonjour,\n\nToujours le même problème ce matin. Avez-vous du nouveau ?",
           "Merci beaucoup, ça fonctionne maintenant !"),
    "de": ("Hallo,\n\nleider besteht das Problem weiterhin. Gibt es schon Neuigkeiten?",
           "Vielen Dank, jetzt funktioniert es wieder!"),
    "es": ("Hola,\n\nsigue pasando lo mismo. ¿Alguna novedad?", "¡Muchas gracias, ya funciona!"),
    "ja": ("お世話になっております。\n\n本日も同じ問題が発生しています。その後いかがでしょうか。",
           "ご対応ありがとうございました。解決しました。"),
}

FIRST = ("Jess", "Emma", "Sophie", "Olivia", "Hannah", "Amelia", "Grace", "Chloe", "Lucy", "Megan", "Tom", "James",
         "Dan", "Oliver", "Harry", "Sam", "Ben", "Aisha", "Priya", "Fatima", "Mohammed", "Kwame", "Zoe", "Niamh",
         "Siobhan", "Rhys", "Callum", "Freya", "Isla", "Maya", "Leah", "Ruby", "Ellie", "Jack", "Noah", "Alfie")
LAST = ("Patel", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
        "Wright", "Hughes", "Green", "Hall", "Khan", "Ahmed", "O'Brien", "Murphy", "Kelly", "Campbell", "Clarke",
        "Harlow", "Bennett", "Fletcher", "Morgan", "Price", "Shaw", "Lloyd", "Davies")
FOREIGN_NAMES = {
    "fr": (("Renée", "Lefèvre"), ("Chloé", "Dubois"), ("Hélène", "Girard"), ("François", "Moreau"),
           ("Amélie", "Rousseau"), ("Gaëlle", "Lemaître")),
    "de": (("Jürgen", "Müller"), ("Zoë", "Schäfer"), ("Anja", "Weiß"), ("Björn", "Köhler"), ("Käthe", "Groß"),
           ("Lena", "Böhm")),
    "es": (("José", "Martínez"), ("Lucía", "Fernández"), ("Begoña", "Núñez"), ("Iñigo", "Gómez"),
           ("María", "Peña")),
    "ja": (("花子", "佐藤"), ("美咲", "鈴木"), ("健太", "高橋"), ("陽菜", "田中"), ("翔", "伊藤")),
}
ROMAJI = {"花子": "hanako", "美咲": "misaki", "健太": "kenta", "陽菜": "hina", "翔": "sho"}
ROLES = ("photographer", "florist", "venue", "planner", "caterer", "DJ", "cake maker", "videographer",
         "hair and makeup artist", "couple")
BUSINESS_WORDS = ("Bloom", "Vine", "Lace", "Golden", "Hour", "Willow", "Oak", "Petal", "Ivory", "Meadow", "Barn",
                  "Studio", "Moments", "Light", "Sugar", "Tide", "Fern", "Honey")
FREE_DOMAINS = {"gmail": ("gmail.com", "googlemail.com"), "outlook": ("outlook.com", "hotmail.co.uk", "live.co.uk"),
                "apple": ("icloud.com", "me.com"), "iphone": ("icloud.com", "gmail.com"),
                "thunderbird": ("btinternet.com", "posteo.de", "gmx.de"), "yahoo": ("yahoo.co.uk", "yahoo.com")}
BROWSERS = ("Chrome", "Safari", "Firefox", "Edge", "Chrome on Android", "Safari on iPhone")
OLD_TOOLS = ("HoneyBook", "Dubsado", "Studio Ninja", "a spreadsheet", "17hats", "Tave")
PLACES = ("Lagos", "Frankfurt", "São Paulo", "Singapore", "Kyiv", "Texas")
FORMS = ("wedding questionnaire", "timeline form", "dietary requirements form", "music choices form")
PLANS = ("Professional", "Scale", "Enterprise", "Starter")
TZ = {"en": (0, 0, 60, -300), "fr": (60,), "de": (60,), "es": (60,), "ja": (540,)}
CLIENT_WEIGHTS = {"gmail": 34, "outlook": 26, "apple": 10, "iphone": 14, "thunderbird": 7, "yahoo": 9}
LANG_WEIGHTS = {"en": 86, "fr": 4, "de": 4, "es": 3, "ja": 3}


# --------------------------------------------------------------------------------------------- model


@dataclass
class Person:
    name: str
    address: str
    client: str  # gmail | outlook | apple | iphone | thunderbird | yahoo
    lang: str  # en | fr | de | es | ja
    role: str
    business: str
    tz_minutes: int
    colleague: Person | None = None
    mails: int = 0

    @property
    def first(self) -> str:
        return self.name.split()[0] if self.lang != "ja" else self.name

    def display(self) -> str:
        return formataddr((self.name, self.address), charset=_header_charset(self))


@dataclass
class Sent:
    """What later mails need of an earlier one: ids for threading, text for quoting."""

    index: int
    message_id: str
    references: tuple[str, ...]
    subject: str
    author: Person
    date: datetime
    text: str


@dataclass
class Thread:
    owner: Person
    topic: str
    subject: str
    cc: Person | None
    mails: list[Sent] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusMail:
    name: str  # a file stem: "0007-reply-outlook-cp1252-qp"
    kind: str  # new | reply | ooo
    message_id: str
    sender: str
    raw: bytes


# --------------------------------------------------------------------------------------------- helpers


def _header_charset(person: Person) -> str:
    return {"ja": "iso-2022-jp", "fr": "iso-8859-1", "de": "utf-8", "es": "iso-8859-1"}.get(person.lang, "utf-8")


def _header(value: str, charset: str) -> str:
    """RFC 2047 encoded words only when the value needs them, as mail clients do."""
    if value.isascii():
        return value
    return Header(value, charset).encode()


def _fill(template: str, rng: random.Random, person: Person) -> str:
    day = START + timedelta(days=rng.randint(3, 200))
    couple = f"{rng.choice(FIRST)} & {rng.choice(FIRST)}"
    return template.format(
        n=rng.randint(2, 60), small=rng.randint(1, 9), big=rng.choice((120, 340, 800, 1500, 2400, 5200)),
        browser=rng.choice(BROWSERS), couple=couple, date=f"{day.day} {day:%B}", amount=f"£{rng.choice((29, 49, 99))}",
        plan=rng.choice(PLANS), role=person.role, business=person.business, old_tool=rng.choice(OLD_TOOLS),
        place=rng.choice(PLACES), form=rng.choice(FORMS), first=person.first, agent=rng.choice(AGENTS),
    )


def _signature(rng: random.Random, person: Person) -> str:
    if person.lang == "ja":
        return f"{person.name}\n{person.business}\nTEL: 03-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    closing = rng.choice(("Thanks,", "Many thanks,", "Best,", "Kind regards,", "Cheers,", "Thanks so much!"))
    lines = [closing if person.lang == "en" else "", person.name]
    if person.role != "couple":
        lines.append(f"{person.business} | {person.role[0].upper()}{person.role[1:]}")
        lines.append(f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}")
        domain = person.address.split("@")[1]
        if not any(domain in free for free in FREE_DOMAINS.values()):
            lines.append(f"www.{domain}")
        if rng.random() < 0.25:
            lines += ["", "This email and any attachments are confidential and intended solely for the addressee. "
                      "If you have received it in error please notify the sender and delete it. Views expressed "
                      "are those of the author and not necessarily those of the business."]
    return "\n".join(line for line in lines if line is not None).strip("\n")


def _message_id(rng: random.Random, person: Person, date: datetime) -> str:
    domain = person.address.split("@", 1)[1]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    if person.client == "gmail" or domain in ("gmail.com", "googlemail.com"):
        token = "".join(rng.choice(letters + "+_-") for _ in range(44))
        return f"<CA{token}@mail.gmail.com>"
    if person.client == "outlook":
        if domain.endswith(("outlook.com", "hotmail.co.uk", "live.co.uk")):
            token = "".join(rng.choice(letters[26:]).upper() for _ in range(12))
            return f"<DB9PR0{rng.randint(1, 9)}MB{rng.randint(1000, 9999)}{token}@DB9PR0{rng.randint(1, 9)}MB" \
                   f"{rng.randint(1000, 9999)}.eurprd0{rng.randint(1, 9)}.prod.outlook.com>"
        return f"<{rng.getrandbits(48):012x}${rng.getrandbits(48):012x}${rng.getrandbits(32):08x}@{domain}>"
    if person.client in ("apple", "iphone"):
        hexes = f"{rng.getrandbits(128):032X}"
        return f"<{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}@{domain}>"
    if person.client == "yahoo":
        return f"<{rng.getrandbits(40)}.{rng.getrandbits(30)}.{int(date.timestamp() * 1000)}@mail.yahoo.com>"
    hexes = f"{rng.getrandbits(128):032x}"
    return f"<{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}@{domain}>"


def _trace_headers(rng: random.Random, person: Person, date: datetime) -> list[tuple[str, str]]:
    """Return-Path, Received, DKIM and authentication results, as a receiving MX adds them."""
    domain = person.address.split("@", 1)[1]
    at = format_datetime(date.astimezone(UTC) + timedelta(seconds=rng.randint(1, 4)))
    relay_ip = f"{rng.randint(40, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    relay = {"gmail": "mail-wr1-f{n}.google.com", "outlook": "mail-db{n}.outbound.protection.outlook.com",
             "apple": "p-east{n}-cluster2.eps.apple.com", "iphone": "p-west{n}-cluster1.eps.apple.com",
             "yahoo": "sonic3{n}-20.consmr.mail.ir2.yahoo.com"}.get(person.client, "mout.gmx.net")
    relay = relay.format(n=rng.randint(10, 99))
    queue = f"{rng.getrandbits(40):010X}"
    signature = base64.b64encode(rng.randbytes(256)).decode()
    body_hash = base64.b64encode(rng.randbytes(32)).decode()
    dkim = (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s{rng.randint(1, 2024)};\r\n\t"
            f"t={int(date.timestamp())}; h=from:to:subject:date:message-id:mime-version;\r\n\t"
            f"bh={body_hash};\r\n\tb=" + "\r\n\t  ".join(textwrap.wrap(signature, 70)))
    return [
        ("Return-Path", f"<{person.address}>"),
        ("Delivered-To", SUPPORT_ADDRESS),
        ("Received", f"from {relay} ({relay} [{relay_ip}])\r\n\tby mx1.wedsync.com (Postfix) with ESMTPS id "
                     f"{queue}\r\n\tfor <{SUPPORT_ADDRESS}>; {at}"),
        ("Authentication-Results", f"mx1.wedsync.com;\r\n\tdkim=pass (2048-bit key) header.d={domain};\r\n\t"
                                   f"spf=pass (sender IP is {relay_ip}) smtp.mailfrom={person.address};\r\n\t"
                                   f"dmarc=pass header.from={domain}"),
        ("Received", f"by {relay} with SMTP id {rng.getrandbits(64):x}\r\n\tfor <{SUPPORT_ADDRESS}>; "
                     f"{format_datetime(date)}"),
        ("DKIM-Signature", dkim),
    ]


# --------------------------------------------------------------------------------------------- attachments


def _png(rng: random.Random, width: int, height: int) -> bytes:
    """A real PNG: flat screenshot-like bands with some noise, so it compresses like a screenshot does."""
    rows = []
    colour = bytes((rng.randint(200, 255), rng.randint(200, 255), rng.randint(200, 255)))
    for y in range(height):
        if y % 24 == 0:
            colour = bytes((rng.randint(150, 255), rng.randint(150, 255), rng.randint(150, 255)))
        noisy = y % 24 in (8, 9, 10)  # a "line of text"
        row = rng.randbytes(width * 3) if noisy else colour * width
        rows.append(b"\x00" + row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) \
        + chunk(b"IEND", b"")


def _pdf(rng: random.Random, person: Person) -> bytes:
    """A small one-page PDF invoice (valid structure, a deflated content stream)."""
    lines = [f"BT /F1 12 Tf 72 {760 - 16 * i} Td ({text}) Tj ET" for i, text in enumerate(
        ["WedSync Ltd - Invoice", f"Invoice INV-{rng.randint(10000, 99999)}", f"Customer: {person.address}",
         f"Plan: {rng.choice(PLANS)}", f"Amount: GBP {rng.choice((29, 49, 99, 299, 588))}.00", "Paid by card"])]
    stream = zlib.compress(("\n".join(lines) + "\n" + "% " + rng.randbytes(600).hex()).encode())
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _csv(rng: random.Random) -> bytes:
    rows = ["Name,Email,Phone,Wedding date,Guests,Table,Dietary,RSVP"]
    for _ in range(rng.randint(20, 400)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        day = START + timedelta(days=rng.randint(0, 500))
        date = day.strftime(rng.choice(("%d/%m/%Y", "%Y-%m-%d", "%m/%d/%y")))
        rows.append(f"{first} {last},{first.lower()}.{last.lower().replace(chr(39), '')}@example.com,"
                    f"07{rng.randint(100000000, 999999999)},{date},{rng.randint(20, 180)},{rng.randint(1, 20)},"
                    f"{rng.choice(('', 'vegetarian', 'vegan', 'gluten free', 'nut allergy'))},"
                    f"{rng.choice(('yes', 'no', 'maybe', ''))}")
    return ("\r\n".join(rows) + "\r\n").encode()


def _attachment(rng: random.Random, kind: str, person: Person) -> Message:
    if kind == "png":
        data, ctype, name = _png(rng, rng.choice((160, 240, 320)), rng.choice((120, 200, 300))), "image/png", \
            f"Screenshot {START.year}-11-{rng.randint(10, 28)} at {rng.randint(8, 22)}.{rng.randint(10, 59)}.png"
    elif kind == "pdf":
        data, ctype, name = _pdf(rng, person), "application/pdf", f"Invoice-{rng.randint(1000, 9999)}.pdf"
    else:
        data, ctype, name = _csv(rng), "text/csv", rng.choice(("guests.csv", "clients export.csv", "contacts.csv"))
    part = Message()
    encoded_name = _header(name, "utf-8")
    part["Content-Type"] = f'{ctype}; name="{encoded_name}"'
    part["Content-Disposition"] = f'attachment; filename="{encoded_name}"'
    part["Content-Transfer-Encoding"] = "base64"
    if person.client == "gmail":
        part["Content-ID"] = f"<f_{rng.getrandbits(40):x}>"
        part["X-Attachment-Id"] = f"f_{rng.getrandbits(40):x}"
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    return part


def _logo(rng: random.Random) -> tuple[Message, str]:
    cid = f"image001.png@01DB{rng.getrandbits(32):08X}.{rng.getrandbits(32):08X}"
    part = Message()
    part["Content-Type"] = 'image/png; name="image001.png"'
    part["Content-Description"] = "image001.png"
    part["Content-Disposition"] = 'inline; filename="image001.png"'
    part["Content-ID"] = f"<{cid}>"
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(_png(rng, 120, 48)).decode("ascii"))
    return part, cid


# --------------------------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class Quote:
    """The history a reply carries: who wrote it, when, and its text."""

    author: str
    address: str
    date: datetime
    subject: str
    text: str
    to: str = f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>"


def _attribution(style: str, lang: str, quote: Quote) -> str:
    d = quote.date
    who = f"{quote.author} <{quote.address}>"
    if lang == "fr":
        return f"Le {d.day} {d:%b} {d.year} à {d:%H:%M}, {who} a écrit :"
    if lang == "de":
        return f"Am {d.day}.{d.month}.{d.year} um {d:%H:%M} schrieb {who}:"
    if lang == "es":
        return f"El {d.day}/{d.month}/{d.year} a las {d:%H:%M}, {quote.author} (<{quote.address}>) escribió:"
    if lang == "ja":
        return f"{d.year}年{d.month}月{d.day}日 {d:%H:%M} {who}:"
    if style in ("apple", "iphone"):
        return f"On {d.day} {d:%b} {d.year}, at {d:%H:%M}, {who} wrote:"
    if style == "thunderbird":
        return f"On {d:%d/%m/%Y} {d:%H:%M}, {quote.author} wrote:"
    if style == "yahoo":
        return f"On {d:%A}, {d.day} {d:%B} {d.year} at {d:%H:%M:%S} GMT, {who} wrote:"
    return f"On {d:%a}, {d.day} {d:%b} {d.year} at {d:%H:%M}, {who} wrote:"


def _prefixed(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _plain(style: str, lang: str, new: str, quote: Quote | None) -> str:
    """The text/plain body a client writes for `new` above `quote`."""
    if quote is None:
        return new
    if style == "outlook":
        sent = f"{quote.date:%A}, {quote.date:%d %B %Y} {quote.date:%H:%M}"
        if len(quote.text) % 2:
            block = (f"-----Original Message-----\nFrom: {quote.author} <{quote.address}>\nSent: {sent}\n"
                     f"To: {quote.to}\nSubject: {quote.subject}")
        else:
            block = (f"________________________________\nFrom: {quote.author} <{quote.address}>\nSent: {sent}\n"
                     f"To: {quote.to}\nSubject: {quote.subject}")
        return f"{new}\n\n{block}\n\n{quote.text}"
    attribution = _attribution(style, lang, quote)
    if style in ("apple", "iphone"):
        footer = "\n\nSent from my iPhone" if style == "iphone" else ""
        return f"{new}{footer}\n\n> {attribution}\n>\n{_prefixed(quote.text)}"
    return f"{new}\n\n{attribution}\n\n{_prefixed(quote.text)}"


def _html_paragraphs(text: str, tag: str = "div") -> str:
    out = []
    for paragraph in text.split("\n\n"):
        inner = "<br>\n".join(html.escape(line) for line in paragraph.split("\n"))
        out.append(f"<{tag}>{inner}</{tag}>" if tag != "div" else f"<div>{inner}</div><div><br></div>")
    return "\n".join(out)


def _html_quote(text: str) -> str:
    """Nested blockquotes for '>'-prefixed runs, the way clients render quoted history."""
    lines = text.split("\n")
    out: list[str] = []
    depth = 0
    for line in lines:
        level = len(line) - len(line.lstrip(">")) if line.startswith(">") else 0
        content = line.lstrip("> ")
        while depth < level:
            out.append('<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">')
            depth += 1
        while depth > level:
            out.append("</blockquote>")
            depth -= 1
        out.append(f"{html.escape(content)}<br>")
    out.extend("</blockquote>" for _ in range(depth))
    return "\n".join(out)


def _html(style: str, lang: str, new: str, quote: Quote | None) -> str:
    """The text/html body a client writes, in its house style (Outlook's is the heaviest)."""
    if style == "outlook":
        head = ('<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
                'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/'
                '12/omml" xmlns="http://www.w3.org/TR/REC-html40"><head><meta http-equiv=Content-Type '
                'content="text/html; charset=utf-8"><meta name=Generator content="Microsoft Word 15 (filtered '
                'medium)"><style><!--\n/* Font Definitions */\n@font-face\n\t{font-family:"Cambria Math";\n\t'
                'panose-1:2 4 5 3 5 4 6 3 2 4;}\n@font-face\n\t{font-family:Calibri;\n\tpanose-1:2 15 5 2 2 2 4 3 2 '
                '4;}\n/* Style Definitions */\np.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;\n\t'
                'font-size:11.0pt;\n\tfont-family:"Calibri",sans-serif;\n\tmso-fareast-language:EN-US;}\n'
                'a:link, span.MsoHyperlink\n\t{mso-style-priority:99;\n\tcolor:#0563C1;\n\ttext-decoration:'
                'underline;}\nspan.EmailStyle17\n\t{mso-style-type:personal-compose;\n\tfont-family:"Calibri",'
                'sans-serif;\n\tcolor:windowtext;}\n.MsoChpDefault\n\t{mso-style-type:export-only;\n\t'
                'font-family:"Calibri",sans-serif;}\n@page WordSection1\n\t{size:612.0pt 792.0pt;\n\t'
                'margin:72.0pt 72.0pt 72.0pt 72.0pt;}\ndiv.WordSection1\n\t{page:WordSection1;}\n--></style>'
                '<!--[if gte mso 9]><xml>\n<o:shapedefaults v:ext="edit" spidmax="1026" />\n</xml><![endif]-->'
                '</head><body lang=EN-GB link="#0563C1" vlink="#954F72" style=\'word-wrap:break-word\'>'
                '<div class=WordSection1>')
        body = "\n".join(f"<p class=MsoNormal>{html.escape(line) or '<o:p>&nbsp;</o:p>'}<o:p></o:p></p>"
                         for line in new.split("\n"))
        if quote is not None:
            body += ("<p class=MsoNormal><o:p>&nbsp;</o:p></p><div style='border:none;border-top:solid #E1E1E1 "
                     "1.0pt;padding:3.0pt 0cm 0cm 0cm'><p class=MsoNormal><b><span lang=EN-US>From:</span></b>"
                     f"<span lang=EN-US> {html.escape(quote.author)} &lt;{quote.address}&gt; <br><b>Sent:</b> "
                     f"{quote.date:%A, %d %B %Y %H:%M}<br><b>To:</b> {html.escape(quote.to)}<br>"
                     f"<b>Subject:</b> {html.escape(quote.subject)}<o:p></o:p></span></p></div>"
                     + "\n".join(f"<p class=MsoNormal>{html.escape(line)}<o:p></o:p></p>"
                                 for line in quote.text.split("\n")))
        return f"{head}{body}</div></body></html>"
    if style in ("apple", "iphone"):
        body = f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>' \
               f'<body dir="auto">{_html_paragraphs(new)}'
        if quote is not None:
            body += f'<div dir="ltr"><br><blockquote type="cite">{html.escape(_attribution(style, lang, quote))}' \
                    f"<br><br>{_html_quote(quote.text)}</blockquote></div>"
        return body + "</body></html>"
    body = f'<div dir="ltr">{_html_paragraphs(new)}</div>'
    if quote is not None:
        body += (f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                 f"{html.escape(_attribution(style, lang, quote))}<br></div><blockquote class=\"gmail_quote\" "
                 f'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
                 f"{_html_quote(quote.text)}</blockquote></div>")
    return body


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _text_part(subtype: str, text: str, charset: str | None, cte: str, flowed: bool = False) -> Message:
    """One text part with its body encoded by hand (so every charset/encoding pair is exactly as chosen)."""
    part = Message()
    data = text.replace("\n", "\r\n").encode(charset or "utf-8")
    params = f'; charset="{charset}"' if charset else ""
    if flowed:
        params += "; format=flowed" if charset is None else "; format=flowed; delsp=yes"
    part["Content-Type"] = f"text/{subtype}{params}"
    part["Content-Transfer-Encoding"] = cte
    if cte == "quoted-printable":
        payload = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode("ascii")
    elif cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    else:  # 7bit / 8bit: the bytes as they are (surrogateescape keeps 8-bit bytes through the generator)
        payload = data.replace(b"\r\n", b"\n").decode("ascii", "surrogateescape")
    part.set_payload(payload)
    return part


def _choose_encoding(rng: random.Random, person: Person, text: str) -> tuple[str | None, str, str]:
    """(charset, transfer encoding, label) the way this sender's client would write `text`."""
    if person.lang == "ja" and _encodable(text, "iso-2022-jp"):
        return "iso-2022-jp", "7bit", "iso2022jp"
    roll = rng.random()
    if person.lang in ("fr", "es") and roll < 0.6 and _encodable(text, "iso-8859-1"):
        return "iso-8859-1", "quoted-printable", "latin1-qp"
    if person.client == "outlook" and roll < 0.45 and _encodable(text, "windows-1252"):
        return "windows-1252", ("quoted-printable" if roll < 0.3 else "8bit"), "cp1252"
    if person.client == "thunderbird" and roll < 0.5 and _encodable(text, "iso-8859-1"):
        return "iso-8859-1", "8bit", "latin1-8bit"
    if roll > 0.97:
        return None, "8bit", "utf8-undeclared"  # no charset at all, 8-bit UTF-8 (old scripts, some phones)
    if person.client == "yahoo" or roll > 0.85:
        return "utf-8", "base64", "utf8-b64"
    if text.isascii() and roll < 0.5:
        return "us-ascii", "7bit", "ascii"
    return "utf-8", "quoted-printable", "utf8-qp"


def _smart_quotes(text: str) -> str:
    """What Word and Outlook do to apostrophes, quotes and dashes as you type."""
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ").replace("...", "\u2026")


# --------------------------------------------------------------------------------------------- the generator


class _Generator:
    def __init__(self, count: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = count
        self.people = [self._person(i) for i in range(max(1, count // 3))]
        for person in self.people:
            if self.rng.random() < 0.2:  # a partner, colleague or planner in cc
                person.colleague = self._person(len(self.people) + self.rng.randint(0, 10**6), like=person)
        self.threads: list[Thread] = []
        self.clock = START
        self.seen_addresses: set[str] = set()

    def _person(self, index: int, like: Person | None = None) -> Person:
        rng = self.rng
        lang = like.lang if like else rng.choices(list(LANG_WEIGHTS), list(LANG_WEIGHTS.values()))[0]
        client = rng.choices(list(CLIENT_WEIGHTS), list(CLIENT_WEIGHTS.values()))[0]
        role = like.role if like else rng.choice(ROLES)
        if lang == "en":
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            local = f"{first}.{last}".lower().replace("'", "")
        else:
            first, last = rng.choice(FOREIGN_NAMES[lang])
            name = f"{last} {first}" if lang == "ja" else f"{first} {last}"
            local = (ROMAJI.get(first, first) + "." + ("tanaka" if lang == "ja" else last)).lower()
            local = local.encode("ascii", "ignore").decode() or "client"
        kind = role.split()[0]
        business = f"{rng.choice(BUSINESS_WORDS)} {rng.choice(BUSINESS_WORDS)} {kind[0].upper()}{kind[1:]}s"
        if role == "couple" or rng.random() < 0.5:
            domain = rng.choice(FREE_DOMAINS[client])
            if lang == "ja":
                domain = rng.choice(("docomo.ne.jp", "gmail.com", "yahoo.co.jp"))
        else:
            domain = business.lower().replace(" ", "") + rng.choice((".co.uk", ".com", ".uk"))
            local = rng.choice((local, "hello", "info", first.lower().encode("ascii", "ignore").decode() or "info"))
        address = f"{local}{index}@{domain}" if index else f"{local}@{domain}"
        tz = rng.choice(TZ[lang])
        return Person(name, address, client, lang, role, business, tz, like.colleague if like else None)

    # -- choices

    def _sender_for_new(self) -> Person:
        rng = self.rng
        candidates = [p for p in self.people if p.mails < MAX_PER_SENDER - 2]
        heavy = candidates[: max(1, len(candidates) // 20)]  # a few customers write much more than the rest
        return rng.choice(heavy) if rng.random() < 0.15 else rng.choice(candidates)

    def _open_threads(self, index: int) -> list[Thread]:
        return [t for t in self.threads[-80:] if t.mails[-1].index <= index - MIN_REPLY_GAP
                and len(t.mails) < MAX_THREAD_LENGTH and t.owner.mails < MAX_PER_SENDER]

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(5, 240))
        return self.clock

    # -- mails

    def generate(self) -> list[CorpusMail]:
        out = []
        for index in range(self.count):
            roll = self.rng.random()
            threads = self._open_threads(index)
            if threads and roll < 0.025:
                out.append(self._out_of_office(index, self.rng.choice(threads)))
            elif threads and roll < 0.42:
                out.append(self._reply(index, self.rng.choice(threads)))
            else:
                out.append(self._new(index))
        return out

    def _new(self, index: int) -> CorpusMail:
        rng = self.rng
        person = self._sender_for_new()
        topic = rng.choice(TOPICS)
        if person.lang == "en":
            subject = rng.choice(topic.subjects)
            body = _fill(rng.choice(topic.bodies), rng, person)
            greeting = rng.choice(("Hi,", "Hello,", "Hi there,", "Hi WedSync team,", "Good morning,", ""))
            new = (f"{greeting}\n\n{body}" if greeting else body) + "\n\n" + _signature(rng, person)
        else:
            subject, body = rng.choice(FOREIGN[person.lang])
            new = _fill(body, rng, person) + "\n" + _signature(rng, person)
        if person.client == "outlook" and person.lang != "ja":
            new = _smart_quotes(new)
        if rng.random() < 0.04:
            subject = subject.upper()
        cc = person.colleague if person.colleague and rng.random() < 0.7 else None
        attach = topic.attachment if topic.attachment and rng.random() < 0.3 else None
        thread = Thread(person, topic.name, subject, cc)
        self.threads.append(thread)
        return self._emit(index, "new", person, thread, subject, new, None, (), None, attach)

    def _reply(self, index: int, thread: Thread) -> CorpusMail:
        rng = self.rng
        parent = thread.mails[-1]
        roll = rng.random()
        if thread.cc is not None and roll < 0.15 and thread.cc.mails < MAX_PER_SENDER:
            author = thread.cc  # a participant: appended to the ticket
        elif roll > 0.96:
            author = rng.choice([p for p in self.people if p.mails < MAX_PER_SENDER])  # a stranger: linked
        else:
            author = thread.owner
        if author.lang == "en" or author.lang not in FOREIGN_FOLLOW_UPS:
            new = _fill(rng.choice(FOLLOW_UPS), rng, author)
        else:
            new = rng.choice(FOREIGN_FOLLOW_UPS[author.lang])
        topic = next(t for t in TOPICS if t.name == thread.topic)
        attach = topic.attachment if topic.attachment and rng.random() < 0.2 else None
        if attach:
            new += "\n\n" + ATTACHMENT_LINES[attach]
        closing = rng.choice(("Thanks,", "Many thanks,", "Best,", "Thank you!", "Cheers,"))
        new += f"\n\n{closing}\n{author.first}" if author.lang == "en" else f"\n\n{author.name}"
        if author.client == "outlook" and author.lang != "ja":
            new = _smart_quotes(new)
        in_reply_to, references = parent.message_id, (*parent.references, parent.message_id)
        quote = Quote(parent.author.name, parent.author.address, parent.date, parent.subject, parent.text)
        if rng.random() < 0.35:
            # The customer answers the desk's reply: the desk's id is unknown to the corpus, so threading has to
            # find the earlier customer mail further back in References.
            agent_id = f"<{rng.getrandbits(64):016x}.{rng.getrandbits(32):08x}@mail.wedsync.email>"
            agent_text = _fill(rng.choice(AGENT_REPLIES), rng, thread.owner)
            agent_date = parent.date + timedelta(minutes=rng.randint(5, 600))
            quoted = f"{agent_text}\n\n{_attribution('gmail', 'en', quote)}\n\n{_prefixed(parent.text)}"
            quote = Quote(SUPPORT_NAME, SUPPORT_ADDRESS, agent_date, f"Re: {parent.subject}", quoted,
                          to=f"{parent.author.name} <{parent.author.address}>")
            in_reply_to, references = agent_id, (*references, agent_id)
        prefix = {"outlook": "RE: ", "fr": "RE : ", "de": "AW: ", "es": "RE: "}.get(
            author.lang if author.lang != "en" else author.client, "Re: ")
        subject = thread.subject if thread.subject.lower().startswith(("re:", "aw:")) else prefix + thread.subject
        return self._emit(index, "reply", author, thread, subject, new, quote, (in_reply_to, *references[-12:]),
                          None, attach)

    def _out_of_office(self, index: int, thread: Thread) -> CorpusMail:
        rng = self.rng
        person = thread.owner
        back = self.clock + timedelta(days=rng.randint(2, 14))
        new = (f"Thank you for your email. I'm out of the office at a wedding fair until {back:%A %d %B} with "
               f"limited access to email. I'll reply as soon as I can when I'm back.\n\n{person.name}")
        parent = thread.mails[-1]
        return self._emit(index, "ooo", person, thread, f"Automatic reply: {thread.subject}", new, None,
                          (parent.message_id, parent.message_id), "ooo", None)

    def _emit(self, index: int, kind: str, person: Person, thread: Thread, subject: str, new: str,
              quote: Quote | None, refs: Sequence[str], special: str | None, attach: str | None) -> CorpusMail:
        rng = self.rng
        date = self._tick().astimezone(timezone(timedelta(minutes=person.tz_minutes)))
        message_id = _message_id(rng, person, date)
        style = person.client
        text = _plain(style, person.lang, new, quote)
        charset, cte, label = _choose_encoding(rng, person, text)
        html_only = style in ("outlook", "yahoo") and rng.random() < 0.22 and person.lang != "ja"
        logo = _logo(rng) if style == "outlook" and not html_only and rng.random() < 0.35 else None
        markup = _html(style, person.lang, new, quote)
        if logo is not None:
            markup = markup.replace("</div></body>", f'<p class=MsoNormal><img width=120 height=48 '
                                                    f'src="cid:{logo[1]}" alt="logo"></p></div></body>')
        html_charset = charset if charset not in (None, "us-ascii") else "utf-8"
        if html_charset in ("iso-8859-1", "windows-1252", "iso-2022-jp") and not _encodable(markup, html_charset):
            html_charset = "utf-8"
        html_cte = "quoted-printable" if cte in ("7bit", "8bit") and html_charset != "iso-2022-jp" else cte
        if html_charset == "iso-2022-jp":
            html_cte = "7bit"

        if html_only:
            body: Message = _text_part("html", markup, html_charset, html_cte)
            label = f"html-only-{label}"
        elif style in ("gmail", "outlook", "yahoo") or (style == "apple" and rng.random() < 0.5):
            body = Message()
            body["Content-Type"] = f'multipart/alternative; boundary="{self._boundary(style)}"'
            body.attach(_text_part("plain", text, charset, cte))
            body.attach(_text_part("html", markup, html_charset, html_cte))
            if logo is not None:  # Outlook's signature logo, inline, referenced from the HTML by its cid
                related = Message()
                related["Content-Type"] = f'multipart/related; type="multipart/alternative"; ' \
                                          f'boundary="{self._boundary(style)}"'
                related.attach(body)
                related.attach(logo[0])
                body = related
        else:
            flowed = style in ("apple", "iphone", "thunderbird")
            if flowed:
                text = "\n".join(textwrap.fill(line, 72, break_long_words=False, break_on_hyphens=False)
                                 if not line.startswith(">") else line for line in text.split("\n"))
            body = _text_part("plain", text, charset, cte, flowed=flowed)

        if attach:
            mixed = Message()
            mixed["Content-Type"] = f'multipart/mixed; boundary="{self._boundary(style)}"'
            mixed.attach(body)
            mixed.attach(_attachment(rng, attach, person))
            body = mixed
            label += f"-{attach}"

        headers = _trace_headers(rng, person, date)
        headers.append(("From", person.display()))
        headers.append(("To", formataddr((SUPPORT_NAME, SUPPORT_ADDRESS)) if rng.random() < 0.8 else SUPPORT_ADDRESS))
        if thread.cc is not None and person is not thread.cc and kind != "ooo":
            headers.append(("Cc", thread.cc.display()))
        headers.append(("Subject", _header(subject, _header_charset(person))))
        headers.append(("Date", format_datetime(date)))
        headers.append(("Message-ID", message_id))
        if refs:
            headers.append(("In-Reply-To", refs[0]))
            headers.append(("References", "\r\n ".join(dict.fromkeys(refs[1:]))))
        if special == "ooo":
            headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
        headers.append(("MIME-Version", "1.0"))
        headers += self._client_headers(person)
        # The body's own MIME headers go last, after the envelope headers, as clients write them.
        mime_headers = body.items()
        for name, _value in mime_headers:
            del body[name]
        for name, value in (*headers, *mime_headers):
            body[name] = value
        msg = body
        if msg.is_multipart() and style == "outlook":
            msg.preamble = "This is a multipart message in MIME format."

        buffer = BytesIO()
        BytesGenerator(buffer, mangle_from_=False, maxheaderlen=0, policy=_GENERATOR_POLICY).flatten(msg)
        raw = buffer.getvalue()

        person.mails += 1
        sent = Sent(index, message_id, tuple(refs[1:]), subject, person, date, text)
        thread.mails.append(sent)
        name = f"{index + 1:04d}-{kind}-{style}-{label}"
        return CorpusMail(name, kind, message_id, person.address, raw)

    def _boundary(self, style: str) -> str:
        rng = self.rng
        if style == "gmail":
            return f"000000000000{rng.getrandbits(64):016x}"
        if style == "outlook":
            return f"----=_NextPart_{rng.randint(0, 9):03d}_{rng.getrandbits(16):04X}_01DB{rng.getrandbits(32):08X}" \
                   f".{rng.getrandbits(32):08X}"
        if style in ("apple", "iphone"):
            return f"Apple-Mail={rng.getrandbits(128):032X}"
        return f"----{rng.getrandbits(96):024x}"

    def _client_headers(self, person: Person) -> list[tuple[str, str]]:
        rng = self.rng
        if person.client == "outlook":
            return [("X-Mailer", "Microsoft Outlook 16.0"),
                    ("Thread-Index", base64.b64encode(rng.randbytes(22)).decode()),
                    ("Content-Language", "en-gb")]
        if person.client == "apple":
            return [("X-Mailer", "Apple Mail (2.3774.500.171.1.1)")]
        if person.client == "iphone":
            return [("X-Mailer", "iPhone Mail (21G93)")]
        if person.client == "thunderbird":
            return [("User-Agent", "Mozilla Thunderbird"), ("Content-Language", person.lang)]
        if person.client == "yahoo":
            return [("X-Mailer", "WebService/1.1.22806 YMailNorrin")]
        return []


def generate(count: int, seed: int = DEFAULT_SEED) -> list[CorpusMail]:
    """`count` support mails, the same bytes for the same (count, seed)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return _Generator(count, seed).generate()


def describe(corpus: Sequence[CorpusMail]) -> dict[str, object]:
    """Counts and sizes, for the benchmark's report."""
    sizes = sorted(len(m.raw) for m in corpus)
    senders = Counter(m.sender for m in corpus)
    features = Counter()
    for mail in corpus:
        for feature in ("html-only", "png", "pdf", "csv", "latin1", "cp1252", "iso2022jp", "b64", "undeclared"):
            if feature in mail.name:
                features[feature] += 1
    return {
        "messages": len(corpus),
        "kinds": dict(Counter(m.kind for m in corpus)),
        "bytes_total": sum(sizes),
        "bytes_median": sizes[len(sizes) // 2],
        "bytes_max": sizes[-1],
        "senders": len(senders),
        "max_per_sender": max(senders.values()),
        "features": dict(sorted(features.items())),
    }


def write(corpus: Sequence[CorpusMail], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for mail in corpus:
        path = out / f"{mail.name}.eml"
        path.write_bytes(mail.raw)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True, help="the folder to write the .eml files into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    corpus = generate(args.count, args.seed)
    write(corpus, args.out)
    info = describe(corpus)
    print(f"wrote {len(corpus)} messages ({info['bytes_total']:,} bytes) to {args.out}")
    print(f"kinds {info['kinds']}, {info['senders']} senders (max {info['max_per_sender']} each)")
    print(f"features {info['features']}")


if __name__ == "__main__":
    main()
