"""support.yml's `digest:`: off when left out, each team's channel at 08:30 in its own time zone when given, and
every mistake named by its setting before anything runs."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from bot.config import build_config
from bot.errors import ConfigFileError

TEAMS = {"billing_team": {"channel": "CBILLING01", "timezone": "Europe/London"},
         "technical_team": {"channel": "CTECHNIC01"}, "no_channel_team": {}}


def targets(digest: Any) -> list[tuple[str, str | None, time, str]]:
    config = build_config({"teams": TEAMS, "digest": digest})
    return [(t.channel, t.team, t.at, t.timezone) for t in config.digests]


def test_left_out_there_is_no_digest() -> None:
    assert build_config({"teams": TEAMS}).digests == ()


def test_an_empty_section_gives_each_team_with_a_channel_its_digest_at_0830_in_its_own_zone() -> None:
    assert targets({}) == [("CBILLING01", "billing_team", time(8, 30), "Europe/London"),
                           ("CTECHNIC01", "technical_team", time(8, 30), "UTC")]


def test_overrides_per_team_and_the_managers_channel() -> None:
    digest = {"time": "07:45", "timezone": "Europe/Paris", "every_team": False,
              "teams": {"technical_team": {"channel": "CTECHDIGE1", "time": "09:10"}},
              "managers": {"channel": "CMANAGERS1", "timezone": "America/New_York"}}
    assert targets(digest) == [("CTECHDIGE1", "technical_team", time(9, 10), "Europe/Paris"),
                               ("CMANAGERS1", None, time(7, 45), "America/New_York")]
    assert targets({"teams": {"billing_team": {"enabled": False}}}) == [
        ("CTECHNIC01", "technical_team", time(8, 30), "UTC")]


@pytest.mark.parametrize(("digest", "named"), [
    ({"time": "8:30"}, "digest.time: '8:30' is not a time of day HH:MM"),
    ({"timezone": "Mars/Olympus"}, "digest.timezone: unknown time zone 'Mars/Olympus'"),
    ({"teams": {"sales": {}}}, "digest.teams.sales: unknown team 'sales'"),
    ({"teams": {"no_channel_team": {}}}, "digest.teams.no_channel_team: no channel"),
    ({"teams": {"billing_team": {"channel": "#billing"}}}, "digest.teams.billing_team.channel: '#billing' is a "
                                                           "channel name"),
    ({"teams": {"billing_team": {"time": "25:00"}}}, "digest.teams.billing_team.time: '25:00'"),
    ({"managers": {}}, "digest.managers.channel: missing"),
    ({"managers": {"channel": "CBILLING01"}}, "digest.managers: channel CBILLING01 already gets the digest of "
                                              "digest.teams.billing_team"),
    ({"every_day": True}, "digest.every_day: unknown key"),
])
def test_a_mistake_names_its_setting(digest: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigFileError) as raised:
        build_config({"teams": TEAMS, "digest": digest})
    assert named in str(raised.value)
