"""Which of a ticket's attachments are shown in Slack, and how they are numbered (pure rules).

A file is *shown* (uploaded into the ticket's thread, where Slack previews it) unless it is of a type that runs
or renders code when opened (programs, scripts, HTML, ...): those are named in the thread with their size and
how to get them, never uploaded for a preview. A file over the configured size limit, or one the desk did not
keep (over the inbound attachment cap), is named the same way. Small inline images (signature logos) are left
out of the thread altogether; `tickets show` still lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ticketing.model import Attachment, Message, Ticket

# Extensions that run, install or render active content when opened (Windows, macOS, scripts, web pages).
DANGEROUS_EXTENSIONS = frozenset({
    "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "dll", "cpl", "sys", "drv", "ocx", "jar", "js", "jse",
    "mjs", "vbs", "vbe", "vb", "wsf", "wsh", "wsc", "ps1", "psm1", "psd1", "hta", "html", "htm", "xhtml", "shtml",
    "mht", "mhtml", "svg", "lnk", "inf", "reg", "scf", "url", "iso", "img", "vhd", "vhdx", "appx", "msix", "app",
    "dmg", "pkg", "command", "sh", "bash", "py", "pyw", "pl", "php", "apk", "xll", "xlam", "docm", "xlsm", "pptm",
    "chm", "application", "gadget", "msc",
})
DANGEROUS_TYPES = frozenset({
    "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec", "application/x-executable",
    "application/vnd.microsoft.portable-executable", "application/x-ms-installer", "application/x-msi",
    "application/javascript", "application/x-javascript", "text/javascript", "application/ecmascript",
    "text/html", "application/xhtml+xml", "image/svg+xml", "application/hta", "application/x-sh",
    "application/x-bat", "application/java-archive", "text/vbscript", "application/x-ms-shortcut",
})
SMALL_INLINE_IMAGE = 16 * 1024  # inline images below this are signature logos, not the customer's screenshots


class Showing(StrEnum):
    UPLOAD = "upload"  # into the thread, previewed by Slack
    DANGEROUS = "dangerous"  # named only: a type that runs or renders code
    TOO_BIG = "too_big"  # named only: over the Slack size limit configured
    NOT_KEPT = "not_kept"  # named only: the desk did not keep its content (over the inbound cap)
    SKIP = "skip"  # not in the thread at all (a small inline image: a logo)


@dataclass(frozen=True)
class Numbered:
    """An attachment with its number on the ticket (1, 2, ... across all messages, oldest first)."""

    number: int
    message: Message
    attachment: Attachment


def extension(filename: str) -> str:
    name = filename.strip().rstrip(".").lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def is_dangerous(filename: str, content_type: str) -> bool:
    """A program, script or active document, by its name's last extension or its declared type."""
    return extension(filename) in DANGEROUS_EXTENSIONS or content_type.strip().lower() in DANGEROUS_TYPES


def decide_showing(attachment: Attachment, *, kept: bool, max_bytes: int) -> Showing:
    if attachment.inline and attachment.content_type.startswith("image/") and attachment.size < SMALL_INLINE_IMAGE:
        return Showing.SKIP
    if is_dangerous(attachment.filename, attachment.content_type):
        return Showing.DANGEROUS
    if not kept:
        return Showing.NOT_KEPT
    if attachment.size > max_bytes:
        return Showing.TOO_BIG
    return Showing.UPLOAD


def numbered(ticket: Ticket) -> list[Numbered]:
    """Every attachment of the ticket, numbered from 1 in the order of its messages."""
    found: list[Numbered] = []
    for message in ticket.messages:
        for attachment in message.attachments:
            found.append(Numbered(len(found) + 1, message, attachment))
    return found


def number_of(ticket: Ticket, message_id: str, index: int) -> Numbered | None:
    """The `index`-th attachment (from 0) of one message, with its ticket-wide number; None if there is none."""
    before = 0
    for message in ticket.messages:
        if message.id == message_id:
            if 0 <= index < len(message.attachments):
                return Numbered(before + index + 1, message, message.attachments[index])
            return None
        before += len(message.attachments)
    return None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
