"""Slack's Block Kit limits the builders keep to (https://docs.slack.dev/reference/block-kit)."""

from __future__ import annotations

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000  # a message's `text`, and what we allow all its blocks' text together
SECTION_TEXT = 3_000
SECTION_FIELDS = 10
FIELD_TEXT = 2_000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2_000  # not documented; kept to the field limit to be safe
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
ACTION_ID = 255
BLOCK_ID = 255
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5
PLACEHOLDER = 150
INPUT_LABEL = 2_000
INPUT_HINT = 2_000
PLAIN_TEXT_INPUT = 3_000  # plain_text_input max_length
VIEW_TITLE = 24
VIEW_SUBMIT = 24
PRIVATE_METADATA = 3_000
FALLBACK_TEXT = 300  # our own choice: a notification line, not the whole story
