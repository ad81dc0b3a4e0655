"""Rows from other systems: customers from CSV, open tickets from JSON lines. Untrusted input to values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from bot.errors import BotError
from ticketing.model import Category, Customer, Priority, Status, Tier, UserType

IMPORTABLE_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.WAITING_CUSTOMER, Status.WAITING_INTERNAL)


class RowError(BotError):
    """One bad row; the importer reports it with its line number and carries on."""


def parse_email_address(value: str, field: str = "email") -> str:
    _name, address = parseaddr(value.strip())
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise RowError(f"{field} {value!r} is not an email address")
    return address.lower()


def parse_when(value: str, field: str) -> datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise RowError(f"{field} {value!r} is not an ISO 8601 date or time (e.g. 2026-11-20T09:30:00Z)") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _choice(enum: type[Any], value: str | None, field: str, default: Any = None) -> Any:
    if value is None or not str(value).strip():
        if default is None:
            raise RowError(f"{field} is missing")
        return default
    try:
        return enum(str(value).strip().lower())
    except ValueError as error:
        raise RowError(f"{field} {value!r} is not one of {', '.join(e.value for e in enum)}") from error


def parse_customer_row(row: dict[str, str | None]) -> Customer:
    """email, name, type, tier, created_at, language."""
    email = parse_email_address(row.get("email") or "")
    created = row.get("created_at")
    return Customer(
        id="", email=email, name=(row.get("name") or "").strip(),
        user_type=_choice(UserType, row.get("type"), "type", UserType.SUPPLIER),
        tier=_choice(Tier, row.get("tier"), "tier", Tier.FREE),
        account_created_at=parse_when(created, "created_at") if created and created.strip() else None,
        language=(row.get("language") or "en").strip().lower() or "en",
    )


@dataclass(frozen=True)
class ImportedTicket:
    customer_email: str
    subject: str
    description: str
    created_at: datetime
    status: Status
    priority: Priority | None
    category: Category | None
    assignee: str | None


def parse_ticket_line(line: str) -> ImportedTicket:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise RowError(f"not JSON: {error.msg} at column {error.colno}") from error
    if not isinstance(data, dict):
        raise RowError("each line must be one JSON object")
    for key in ("customer_email", "subject", "description", "created_at"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise RowError(f"{key} is missing or not text")
    status = _choice(Status, data.get("status"), "status", Status.OPEN)
    if status not in IMPORTABLE_STATUSES:
        raise RowError(f"status {status} cannot be imported; bring open tickets only "
                       f"({', '.join(s.value for s in IMPORTABLE_STATUSES)})")
    return ImportedTicket(
        customer_email=parse_email_address(data["customer_email"], "customer_email"),
        subject=data["subject"].strip(), description=data["description"],
        created_at=parse_when(data["created_at"], "created_at"), status=status,
        priority=_choice(Priority, data["priority"], "priority") if data.get("priority") else None,
        category=_choice(Category, data["category"], "category") if data.get("category") else None,
        assignee=str(data["assignee"]).strip() if data.get("assignee") else None,
    )
