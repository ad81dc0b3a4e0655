"""The dashboard's sign-in link in Slack: a link button (in an ephemeral message for `/ticket dashboard`, in a
modal for the App Home's "Open dashboard"), or the refusal for someone who is not in support.yml.

The link is a button, never text in the message: Slack fetches links in message text to unfurl them, and that
fetch would use up the one-use link before the person clicks it.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from slack_sdk.models.views import View

from blocks import limits
from blocks.ids import Action, Callback
from blocks.parts import context, label, plain, section

REFUSED = ("Sorry, the support dashboard is only for the agents, leads, managers and founder listed in "
           "support.yml. Ask a team lead to add you.")


def link_blocks(url: str, minutes: int) -> tuple[str, list[Block]]:
    """(text, blocks) with the link button; `url` is used only as the button's target."""
    text = f"Your dashboard link works once, for {minutes} minutes."
    return text, [
        section("*Support dashboard*: volume, SLA, CSAT, agents and trends."),
        ActionsBlock(elements=[ButtonElement(text=label("Open dashboard"), action_id=Action.DASHBOARD_LINK,
                                             url=url, value="dashboard", style="primary")]),
        context(f"The link is yours only, works once, for {minutes} minutes; the session it starts lasts 12 hours."),
    ]


def link_modal(url: str, minutes: int) -> View:
    _text, blocks = link_blocks(url, minutes)
    return _modal(blocks)


def refused_modal() -> View:
    return _modal([section(REFUSED)])


def _modal(blocks: list[Block]) -> View:
    return View(type="modal", callback_id=Callback.DASHBOARD_MODAL, title=plain("Dashboard", limits.VIEW_TITLE),
                close=label("Close"), blocks=blocks)
