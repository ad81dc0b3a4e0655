"""One base exception for everything in channels/."""

from __future__ import annotations


class ChannelError(Exception):
    """Base of every error raised by an outside-service channel."""


class EmailParseError(ChannelError):
    """A message could not be understood at all; it goes to quarantine with this text."""


class TransientDeliveryError(ChannelError):
    """Delivery failed for now (service down, 4xx, 429, 5xx); try again later."""


class PermanentDeliveryError(ChannelError):
    """Delivery can never succeed as it stands (bad address, 5xx refusal, bad request)."""


class HeaderInjectionError(ChannelError):
    """A value meant for a mail header carried CR or LF, or was otherwise unsafe."""
