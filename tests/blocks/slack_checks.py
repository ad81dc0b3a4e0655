"""Slack's limits, written out again here (not imported from blocks.limits), and the escaping check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
SECTION_TEXT = 3_000
SECTION_FIELDS = 10
FIELD_TEXT = 2_000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2_000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
URL = 3_000
ACTION_ID = 255
BLOCK_ID = 255
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
OVERFLOW_MIN, OVERFLOW_MAX = 2, 5
PLACEHOLDER = 150
INPUT_LABEL = 2_000
VIEW_TITLE = 24
PRIVATE_METADATA = 3_000
ACTIONS_ELEMENTS = 25

# Markup the builders write on purpose: dates, mentions of Slack user ids, links. Nothing else may be `<...>`.
OWN_MARKUP = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<@[UW][A-Z0-9_]+>|<https?://[^|<>\s]+\|[^<>|]*>")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def check_message(text: str, blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Validates every block (slack_sdk and the limits below) and returns the blocks as dicts."""
    assert text.strip(), "a message needs fallback text"
    assert len(text) <= MESSAGE_TEXT
    assert 1 <= len(blocks) <= MESSAGE_BLOCKS, f"{len(blocks)} blocks"
    dicts = _check_blocks(blocks)
    assert sum(len(s) for s in texts(dicts)) <= MESSAGE_TEXT
    assert_only_own_markup(text)
    for s in texts(dicts):
        assert_only_own_markup(s)
    return dicts


def check_view(view: View) -> dict[str, Any]:
    view.validate_json()
    as_dict = view.to_dict()
    blocks = view.blocks or []
    assert 1 <= len(blocks) <= VIEW_BLOCKS, f"{len(blocks)} blocks"
    _check_blocks(blocks)
    if as_dict["type"] == "modal":
        for key in ("title", "submit", "close"):
            if key in as_dict:
                assert 1 <= len(as_dict[key]["text"]) <= VIEW_TITLE, key
        assert len(as_dict.get("private_metadata", "")) <= PRIVATE_METADATA
    else:
        assert "submit" not in as_dict and "close" not in as_dict
    for s in texts(as_dict):
        assert_only_own_markup(s)
    json.dumps(as_dict)
    return as_dict


def _check_blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    dicts = []
    for block in blocks:
        block.validate_json()
        as_dict = block.to_dict()
        _check_node(as_dict)
        dicts.append(as_dict)
    return dicts


def _text_of(node: Any) -> str:
    assert isinstance(node, dict) and node["type"] in ("plain_text", "mrkdwn"), node
    text = node["text"]
    assert isinstance(text, str)
    return text


def _options(node: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(node.get("options", []))
    for group in node.get("option_groups", []):
        options.extend(group["options"])
    return options


def _check_node(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _check_node(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if "action_id" in node:
        assert 1 <= len(node["action_id"]) <= ACTION_ID
    if "block_id" in node:
        assert 1 <= len(node["block_id"]) <= BLOCK_ID
    if kind in ("plain_text", "mrkdwn"):
        assert node["text"].strip(), "empty text object"
    if "placeholder" in node:
        assert len(_text_of(node["placeholder"])) <= PLACEHOLDER
    if kind == "section":
        assert "text" in node or "fields" in node
        if "text" in node:
            assert len(_text_of(node["text"])) <= SECTION_TEXT
        fields = node.get("fields", [])
        assert len(fields) <= SECTION_FIELDS
        for field in fields:
            assert len(_text_of(field)) <= FIELD_TEXT
    elif kind == "header":
        assert node["text"]["type"] == "plain_text"
        assert len(_text_of(node["text"])) <= HEADER_TEXT
    elif kind == "context":
        assert 1 <= len(node["elements"]) <= CONTEXT_ELEMENTS
        for element in node["elements"]:
            assert len(_text_of(element)) <= CONTEXT_TEXT
    elif kind == "actions":
        assert 1 <= len(node["elements"]) <= ACTIONS_ELEMENTS
    elif kind == "input":
        assert len(_text_of(node["label"])) <= INPUT_LABEL
        if "hint" in node:
            assert len(_text_of(node["hint"])) <= INPUT_LABEL
    elif kind == "button":
        assert node["text"]["type"] == "plain_text"
        assert 1 <= len(_text_of(node["text"])) <= BUTTON_TEXT
        assert len(node.get("value", "")) <= BUTTON_VALUE
        assert len(node.get("url", "")) <= URL
    elif kind == "overflow":
        assert OVERFLOW_MIN <= len(node["options"]) <= OVERFLOW_MAX
    elif kind in ("static_select", "radio_buttons"):
        assert 1 <= len(_options(node)) <= SELECT_OPTIONS
        values = [o["value"] for o in _options(node)]
        assert len(values) == len(set(values)), "option values must be unique"
        if "initial_option" in node:
            assert node["initial_option"] in _options(node), "initial_option must be one of the options"
    for item in _options(node) if kind in ("static_select", "radio_buttons", "overflow") else []:
        assert 1 <= len(_text_of(item["text"])) <= OPTION_TEXT
        assert 1 <= len(item["value"]) <= OPTION_VALUE
    for value in node.values():
        _check_node(value)


def texts(node: Any) -> Iterator[str]:
    """Every displayed string: the `text` of each text object."""
    if isinstance(node, list):
        for item in node:
            yield from texts(item)
    elif isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from texts(value)


def assert_only_own_markup(text: str) -> None:
    """No `<`, `>` or bare `&` in `text` but the dates, mentions and links the builders write."""
    rest = OWN_MARKUP.sub("", text)
    assert "<" not in rest and ">" not in rest, f"raw markup in {text!r}"
    assert BARE_AMPERSAND.search(rest) is None, f"unescaped & in {text!r}"


def all_text(text: str, dicts: Any) -> str:
    return "\n".join([text, *texts(dicts)])
