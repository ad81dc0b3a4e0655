"""One base exception for the store."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by db/."""


class NotFound(StoreError):
    """A `get_*` found nothing."""


class DuplicateMessage(StoreError):
    """A message with this Message-ID is stored already."""
