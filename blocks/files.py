"""Thread messages about a customer's attachment that is not uploaded for a preview: dangerous, too big, or not
kept. The file name is the customer's text: escaped, so it can ping nobody nor fake a link."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from blocks.parts import context, section
from blocks.text import escape, one_line
from ticketing.attachments import Showing, human_size
from ticketing.model import Attachment

MAX_NAME = 200


def _why(showing: Showing, max_bytes: int) -> str:
    if showing is Showing.DANGEROUS:
        return "⚠️ a program, script or web page type: not uploaded for a preview. Open it only if you expect it"
    if showing is Showing.TOO_BIG:
        return f"over the {human_size(max_bytes)} limit for Slack (SLACK_FILE_MAX_BYTES)"
    return "not kept by the desk (over ATTACHMENT_CAP_BYTES when it arrived): ask the customer for it another way"


def build_attachment_note(ticket_id: str, number: int, attachment: Attachment, showing: Showing, max_bytes: int
                          ) -> tuple[str, list[Block]]:
    """`📎 report.exe (application/x-msdownload, 40.0 KB): why; how to get it from the command line`."""
    name = escape(one_line(attachment.filename)[:MAX_NAME] or f"attachment {number}")
    kind = escape(one_line(attachment.content_type)[:100])
    what = f"📎 *{name}* ({kind}, {human_size(attachment.size)}): {_why(showing, max_bytes)}."
    text = f"📎 {name} ({human_size(attachment.size)}): {_why(showing, max_bytes)}."
    blocks: list[Block] = [section(what)]
    if showing is not Showing.NOT_KEPT:
        blocks.append(context(f"`wedsync-support tickets attachment {ticket_id} {number} --out FILE` writes it out"))
    return text, blocks
