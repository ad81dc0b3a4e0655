"""Charsets: bodies and encoded-word headers in every charset mail uses, and the broken ones."""

from __future__ import annotations

import base64
import quopri
from email import quoprimime

import pytest

from channels.email.charsets import decode_bytes
from channels.email.parse import parse_email

SAMPLES = {
    "utf-8": "Grüße, ça va? 你好 — привет",
    "iso-8859-1": "Grüße, ça va? Straße",
    "iso-8859-15": "Preis: 20 € für Œuvre",
    "windows-1252": "“Smart” quotes – and € sign…",
    "gb2312": "你好，我的婚礼网站无法打开。",
    "gbk": "你好，我的婚禮網站無法打開。",
    "gb18030": "你好，𠀀 婚礼网站。",
    "big5": "您好，我的婚禮網站無法開啟。",
    "shift_jis": "こんにちは、結婚式のサイトが開きません。",
    "euc-jp": "こんにちは、結婚式のサイトが開きません。",
    "iso-2022-jp": "こんにちは、結婚式のサイトが開きません。",
    "koi8-r": "Здравствуйте, не могу открыть сайт свадьбы.",
    "windows-1251": "Здравствуйте, не могу открыть сайт свадьбы.",
}


def _body_mail(payload: bytes, content_type: str, cte: str = "8bit", subject: str = "test") -> bytes:
    head = (
        f"From: a@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + payload


@pytest.mark.parametrize(("charset", "text"), SAMPLES.items())
def test_an_8bit_body_in_each_common_charset_reads_back_exactly(charset: str, text: str) -> None:
    raw = _body_mail(text.encode(charset), f"text/plain; charset={charset}")
    assert parse_email(raw).text == text


@pytest.mark.parametrize(("charset", "text"), SAMPLES.items())
def test_a_base64_body_in_each_common_charset_reads_back_exactly(charset: str, text: str) -> None:
    payload = base64.encodebytes(text.encode(charset))
    assert parse_email(_body_mail(payload, f'text/plain; charset="{charset}"', "base64")).text == text


@pytest.mark.parametrize(("charset", "text"), SAMPLES.items())
def test_a_quoted_printable_body_in_each_common_charset_reads_back_exactly(charset: str, text: str) -> None:
    payload = quopri.encodestring(text.encode(charset))
    assert parse_email(_body_mail(payload, f"text/plain; charset={charset}", "quoted-printable")).text == text


@pytest.mark.parametrize(("charset", "text"), SAMPLES.items())
def test_an_encoded_word_subject_in_each_common_charset_is_decoded(charset: str, text: str) -> None:
    data = text.encode(charset)
    b_word = f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    for word in (b_word, quoprimime.header_encode(data, charset)):
        raw = b"From: a@example.com\r\nSubject: " + word.encode() + b"\r\n\r\nbody"
        assert parse_email(raw).subject == text


def test_windows_1252_declared_as_latin1_gives_smart_quotes() -> None:
    raw = _body_mail(b"\x93Hello\x94 \x96 it\x92s \x80 5\x85", "text/plain; charset=iso-8859-1")
    assert parse_email(raw).text == "“Hello” – it’s € 5…"


def test_gbk_text_declared_as_gb2312_is_read_with_the_superset() -> None:
    text = "婚禮網站"  # traditional characters: in GBK, not in GB2312
    raw = _body_mail(text.encode("gbk"), "text/plain; charset=gb2312")
    assert parse_email(raw).text == text


def test_cp932_characters_declared_as_shift_jis_are_read() -> None:
    text = "①番 ㈱ウェドシンク"  # NEC/IBM extensions: in CP932, not in JIS X 0208
    raw = _body_mail(text.encode("cp932"), "text/plain; charset=Shift_JIS")
    assert parse_email(raw).text == text


def test_utf8_text_declared_as_latin1_is_read_as_utf8_with_a_defect() -> None:
    parsed = parse_email(_body_mail("Grüße aus München".encode(), "text/plain; charset=iso-8859-1"))
    assert parsed.text == "Grüße aus München"
    assert any("UTF-8" in d for d in parsed.defects)


@pytest.mark.parametrize("label", ["x-unknown", "unknown-8bit", "utf8", "UTF_8", 'iso-8859-1"', "'utf-8'", "x-utf8"])
def test_odd_charset_labels_still_give_readable_text(label: str) -> None:
    text = "Grüße aus München" if "8859" not in label else "Grüße"
    data = text.encode("utf-8" if "8859" not in label else "latin-1")
    assert parse_email(_body_mail(data, f"text/plain; charset={label}")).text == text


def test_an_unknown_charset_is_recorded_as_a_defect() -> None:
    parsed = parse_email(_body_mail("Grüße".encode(), "text/plain; charset=x-martian"))
    assert parsed.text == "Grüße"
    assert any("x-martian" in d for d in parsed.defects)


def test_a_missing_declaration_with_utf8_bytes_reads_as_utf8() -> None:
    assert parse_email(_body_mail("Grüße 你好".encode(), "text/plain")).text == "Grüße 你好"


def test_a_missing_declaration_with_cyrillic_bytes_is_detected() -> None:
    text = "Здравствуйте! Мы не можем открыть список гостей на сайте свадьбы, помогите пожалуйста."
    parsed = parse_email(_body_mail(text.encode("windows-1251"), "text/plain"))
    assert parsed.text == text
    assert any("no charset declared" in d for d in parsed.defects)


def test_invalid_bytes_in_declared_utf8_never_raise_and_keep_the_readable_rest() -> None:
    parsed = parse_email(_body_mail(b"caf\xc3\xa9 and \xff\xfe broken \xc3", "text/plain; charset=utf-8"))
    assert "caf" in parsed.text and "broken" in parsed.text


def test_a_declared_charset_that_is_wrong_falls_back_to_detection() -> None:
    text = "Grüße aus Köln, die Gästeliste lässt sich nicht öffnen. Können Sie helfen?"
    parsed = parse_email(_body_mail(text.encode("latin-1"), "text/plain; charset=utf-8"))
    assert parsed.text == text


def test_base64_with_broken_padding_still_decodes() -> None:
    payload = base64.b64encode("Grüße aus Köln".encode()).rstrip(b"=") + b"\r\n"
    assert parse_email(_body_mail(payload, "text/plain; charset=utf-8", "base64")).text == "Grüße aus Köln"


def test_base64_with_junk_characters_still_decodes() -> None:
    encoded = base64.b64encode(b"hello world, this is fine").decode()
    payload = (encoded[:8] + "!!\r\n" + encoded[8:] + "\r\n").encode()
    assert parse_email(_body_mail(payload, "text/plain; charset=utf-8", "base64")).text == "hello world, this is fine"


def test_quoted_printable_soft_line_breaks_are_joined() -> None:
    payload = b"Gr=C3=BC=C3=9Fe, this line is=\r\n continued.\r\n"
    assert parse_email(_body_mail(payload, "text/plain; charset=utf-8", "quoted-printable")).text == (
        "Grüße, this line is continued."
    )


def test_nul_bytes_are_removed_from_text() -> None:
    assert parse_email(_body_mail(b"a\x00b", "text/plain; charset=us-ascii")).text == "ab"


def test_a_multibyte_character_split_across_two_encoded_words_is_joined() -> None:
    data = "你好世界".encode()
    first, second = base64.b64encode(data[:4]).decode(), base64.b64encode(data[4:]).decode()
    raw = f"From: a@example.com\r\nSubject: =?utf-8?B?{first}?=\r\n =?utf-8?B?{second}?=\r\n\r\nx".encode()
    assert parse_email(raw).subject == "你好世界"


def test_whitespace_between_encoded_words_is_dropped_but_kept_around_plain_words() -> None:
    raw = b"From: a@example.com\r\nSubject: Re: =?utf-8?q?caf=C3=A9?= =?utf-8?q?_au?= lait\r\n\r\nx"
    assert parse_email(raw).subject == "Re: café au lait"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?utf-8?B?w6l0w6k?=", "été"),  # missing base64 padding
        ("=?utf-8?Q?caf=C3=A9?=word", "caféword"),  # no whitespace after the word
        ("Re:=?utf-8?Q?caf=C3=A9?=", "Re:café"),  # no whitespace before the word
        ("=?x-unknown?Q?caf=C3=A9?=", "café"),  # unknown charset
        ("=?utf-8*en?Q?caf=C3=A9?=", "café"),  # RFC 2231 language suffix
        ("=?utf-8?Q?caf=C3=A9", "=?utf-8?Q?caf=C3=A9"),  # unterminated: kept literally
        ("=?iso-8859-1?Q?=93quoted=94?=", "“quoted”"),  # cp1252 bytes under a latin-1 label
        ("=?utf-8?B?!!!?=", ""),  # garbage base64 decodes to nothing, not an exception
    ],
)
def test_malformed_encoded_words_are_decoded_leniently(subject: str, expected: str) -> None:
    raw = b"From: a@example.com\r\nSubject: " + subject.encode() + b"\r\n\r\nx"
    assert parse_email(raw).subject == expected


def test_a_raw_utf8_subject_is_decoded() -> None:
    raw = "From: Jürgen <j@example.de>\r\nSubject: Grüße 你好\r\n\r\nx".encode()
    parsed = parse_email(raw)
    assert (parsed.subject, parsed.from_name, parsed.from_address) == ("Grüße 你好", "Jürgen", "j@example.de")


def test_a_raw_8bit_subject_uses_the_body_charset_as_a_hint() -> None:
    raw = ("From: a@example.com\r\nSubject: 婚礼网站\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n你好").encode(
        "gb2312"
    )
    assert parse_email(raw).subject == "婚礼网站"


def test_a_raw_latin1_subject_without_hint_falls_back_to_windows_1252() -> None:
    raw = "From: a@example.com\r\nSubject: Café “x”\r\n\r\nbody".encode("cp1252")
    assert parse_email(raw).subject == "Café “x”"


@pytest.mark.parametrize("declared", [None, "utf-8", "ascii", "gb2312", "x-bogus", "utf-16", "unicode_escape"])
def test_decode_bytes_never_raises_on_random_high_bytes(declared: str | None) -> None:
    data = bytes(range(256)) * 4
    result = decode_bytes(data, declared)
    assert isinstance(result.text, str)
    result.text.encode("utf-8")  # no lone surrogates


def test_decode_bytes_refuses_codecs_that_are_not_charsets() -> None:
    result = decode_bytes(b"\\u0041 caf\xc3\xa9", "unicode_escape")
    assert result.text == "\\u0041 café"


def test_an_undeclared_iso_2022_jp_body_is_read() -> None:
    text = "こんにちは、サイトが開きません。"
    assert parse_email(_body_mail(text.encode("iso-2022-jp"), "text/plain")).text == text


def test_a_utf16_body_of_ascii_letters_is_not_mistaken_for_ascii() -> None:
    parsed = parse_email(
        _body_mail(base64.encodebytes("Hello".encode("utf-16-le")), "text/plain; charset=utf-16le", "base64")
    )
    assert parsed.text == "Hello"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Fleurs de Lanvéoc, merci, Maïwenn. La facture est fausse.", "latin-1"),
        ("Grüße aus Köln, die Gästeliste lässt sich nicht öffnen. Können Sie helfen?", "latin-1"),
        ("Dzień dobry, nie mogę zalogować się do konta. Proszę o pomoc, ślub już w sobotę.", "iso-8859-2"),
        ("Dzień dobry, nie mogę zalogować się do konta. Proszę o pomoc, ślub już w sobotę.", "cp1250"),
        ("Здравствуйте! Мы не можем открыть список гостей на сайте свадьбы.", "koi8-r"),
        ("您好，我们尝试导入宾客名单，但系统一直提示文件格式错误。", "gb2312"),
        ("您好，我的婚禮網站無法開啟，請幫忙看看。", "big5"),
    ],
)
def test_undeclared_8bit_text_is_detected_among_the_charsets_mail_uses(text: str, codec: str) -> None:
    assert parse_email(_body_mail(text.encode(codec), "text/plain")).text == text


def test_declared_utf8_with_truncated_sequences_gets_replacement_characters_not_mojibake() -> None:
    raw = _body_mail(
        b"boxes instead of \xe2\x82 symbols, price \xe2\x80 \xff\xfe 2,400 \xe2\x82\xac", "text/plain; charset=utf-8"
    )
    parsed = parse_email(raw)
    assert parsed.text == "boxes instead of \ufffd symbols, price \ufffd \ufffd\ufffd 2,400 €"
    assert any("replacement" in d for d in parsed.defects)
