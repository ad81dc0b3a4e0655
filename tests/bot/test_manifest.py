"""app_manifest.yml holds everything the app uses: the events it listens to, the command, interactivity."""

from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yml").read_text(encoding="utf-8"))


def test_the_manifest_subscribes_to_every_event_the_app_handles() -> None:
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "message.channels", "message.groups"} <= events


def test_the_manifest_has_the_ticket_command_interactivity_and_the_home_tab() -> None:
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == ["/ticket"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    urls = {MANIFEST["settings"]["interactivity"]["request_url"],
            MANIFEST["settings"]["event_subscriptions"]["request_url"],
            MANIFEST["features"]["slash_commands"][0]["url"]}
    assert urls == {"https://YOUR-HOST/slack/events"}


def test_the_manifest_asks_for_the_scopes_the_web_api_calls_need() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "channels:history", "groups:history"} <= scopes
    assert "reactions:write" in scopes  # the 🔒 on a note (reactions.add)
    assert {"files:write", "files:read"} <= scopes  # attachments up to threads, agents' files down to mail
