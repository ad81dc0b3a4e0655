"""Escaping, cutting and dates for Slack mrkdwn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from blocks.text import Mrkdwn, chunks, cut, duration, escape, link, mention, one_line, slack_date, unescape


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        pytest.param("<!channel>", "&lt;!channel&gt;", id="a channel ping"),
        pytest.param("<@U123>", "&lt;@U123&gt;", id="a user mention"),
        pytest.param("<https://evil|click>", "&lt;https://evil|click&gt;", id="a disguised link"),
        pytest.param("fish & chips", "fish &amp; chips", id="an ampersand"),
        pytest.param("&amp;", "&amp;amp;", id="an entity typed by the customer stays visible"),
        pytest.param("no markup", "no markup", id="plain words"),
    ],
)
def test_escape_turns_slack_control_characters_into_entities(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert unescape(escape(raw)) == raw


def test_escaping_twice_changes_nothing_the_second_time() -> None:
    once = escape("<!here> & <b>")

    assert isinstance(once, Mrkdwn)
    assert escape(once) == once == "&lt;!here&gt; &amp; &lt;b&gt;"


def test_text_that_fits_is_not_cut() -> None:
    assert cut("short enough", 12) == ("short enough", 0)


def test_cut_ends_at_a_word_boundary_with_an_ellipsis_and_counts_what_it_left_out() -> None:
    text = "the enquiry form will not save my changes"

    shortened, removed = cut(text, 20)

    assert shortened == "the enquiry form…"
    assert len(shortened) <= 20
    assert removed == len(text) - len("the enquiry form")


def test_cut_of_one_long_word_cuts_inside_it() -> None:
    shortened, removed = cut("x" * 50, 10)

    assert shortened == "x" * 9 + "…"
    assert removed == 41


def test_cut_never_ends_inside_an_entity_and_counts_escaped_text_as_the_reader_sees_it() -> None:
    text = escape("a" * 8 + "&" + "b" * 20)  # aaaaaaaa&amp;bbbb...

    shortened, removed = cut(text, 12)

    assert shortened == "a" * 8 + "…"
    assert isinstance(shortened, Mrkdwn)
    assert removed == 21  # "&" and twenty "b", not the five characters of "&amp;"


def test_cut_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cut("text", 0)


def test_chunks_keep_every_character_split_at_line_ends_and_never_inside_an_entity() -> None:
    text = escape("line with <b> & more words\n" * 400)

    pieces = chunks(text, 3000)

    assert "".join(pieces) == text
    assert all(len(p) <= 3000 for p in pieces)
    assert all(p.endswith("\n") for p in pieces[:-1])
    assert all(unescape(p).count("&") == p.count("&amp;") for p in pieces)


def test_slack_date_shows_each_reader_their_own_time_with_a_utc_fallback() -> None:
    moment = datetime(2025, 6, 11, 9, 30, tzinfo=UTC)

    assert slack_date(moment) == "<!date^1749634200^{date_short_pretty} {time}|2025-06-11 09:30 UTC>"
    assert slack_date(moment, "{date_num}") == "<!date^1749634200^{date_num}|2025-06-11 09:30 UTC>"


def test_slack_date_gives_the_utc_fallback_for_any_time_zone() -> None:
    london_summer = datetime(2025, 6, 11, 10, 30, tzinfo=timezone(timedelta(hours=1)))

    assert slack_date(london_summer).endswith("|2025-06-11 09:30 UTC>")


def test_slack_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        slack_date(datetime(2025, 6, 11, 9, 30))


def test_mention_only_mentions_a_slack_user_id() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention(None, "Sam <ops>") == "Sam &lt;ops&gt;"


def test_link_only_links_http_urls_and_escapes_the_url_and_the_label() -> None:
    assert link("https://x.example/a?b=1&c=2", "Open <it>") == "<https://x.example/a?b=1&amp;c=2|Open &lt;it&gt;>"
    assert link("javascript:alert(1)", "Open") == "Open"
    assert link("https://x.example/|<!channel>", "Open") == "Open"


def test_one_line_collapses_whitespace() -> None:
    assert one_line("  Payment\n\tfailed   twice ") == "Payment failed twice"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=24), "24 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(hours=8), "8 h"),
        (timedelta(days=3, hours=4), "3 d 4 h"),
        (timedelta(minutes=-20), "-20 min"),
    ],
)
def test_duration_reads_like_a_person_would_say_it(span: timedelta, text: str) -> None:
    assert duration(span) == text
