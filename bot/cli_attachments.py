"""`wedsync-support tickets attachment ID N --out FILE`: one attachment of a ticket, written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.attachments import attachment_content
from bot.cli import err, out, run, tickets_app
from ticketing.attachments import human_size


@tickets_app.command("attachment")
def tickets_attachment(
    ticket_id: Annotated[str, typer.Argument(help="the ticket, e.g. BIL-...")],
    number: Annotated[int, typer.Argument(help="the attachment's number, as `tickets show` lists them")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="where to write it", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="replace the file if it exists")] = False,
) -> None:
    """Write one of a ticket's attachments (numbered as `tickets show` lists them) to a file."""
    if out_file.exists() and not force:
        err.print(f"[red]error:[/red] {out_file} exists; choose another --out or add --force", highlight=False)
        raise typer.Exit(1)
    item, content = run(lambda desk: attachment_content(desk, ticket_id.strip().upper(), number))
    try:
        out_file.write_bytes(content)
    except OSError as error:
        err.print(f"[red]error:[/red] cannot write {out_file}: {error.strerror}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"wrote {item.attachment.filename} ({human_size(len(content))}, {item.attachment.content_type}) "
              f"to {out_file}", highlight=False, markup=False)
