"""One base exception for the core, and the user-facing ones the edges map to replies."""

from __future__ import annotations


class TicketingError(Exception):
    """Base of every error raised by the core."""


class UserFacingError(TicketingError):
    """An error whose text is safe and useful to show to the person who caused it."""


class InvalidTransition(UserFacingError):
    """A status change the transition table does not allow."""


class TemplateError(UserFacingError):
    """A canned response that uses an unknown variable or is otherwise malformed."""


class ConfigError(UserFacingError):
    """Configuration the core cannot use (e.g. an SLA matrix with a hole)."""
