"""One base exception for the composition root; user-facing ones name the setting and the fix."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error raised by bot/."""


class SettingsError(BotError):
    """An environment setting is wrong; the message names it and how to fix it."""


class ConfigFileError(BotError):
    """support.yml is wrong; the message names the key, the problem and the fix."""
