"""Canned responses: {variables} checked when saved, filled in when sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ticketing.errors import TemplateError
from ticketing.model import Ticket

VARIABLES = frozenset({"customer_name", "ticket_id", "category", "created_date", "agent_name", "company"})
DEFAULT_COMPANY = "WedSync"
# Anything in single braces on one line counts as a variable, so `{customer-name}` or `{customer name}` is
# refused when saved rather than reaching a customer as typed.
_VARIABLE = re.compile(r"\{([^{}\n]{0,60})\}")


@dataclass(frozen=True)
class CannedResponse:
    name: str
    content: str
    category: str | None = None
    self_service: bool = False
    translations: tuple[tuple[str, str], ...] = ()  # (language, content): the same text in other languages

    def in_language(self, language: str) -> CannedResponse:
        """This response in `language` where a translation exists, else as written (English)."""
        content = dict(self.translations).get(language.strip().lower())
        return self if content is None else CannedResponse(self.name, content, self.category, self.self_service,
                                                           self.translations)


def variables_in(content: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_VARIABLE.findall(content)))


def _check(name: str, content: str) -> None:
    if not content.strip():
        raise TemplateError(f"canned response {name!r} has no content")
    unknown = [v for v in variables_in(content) if v not in VARIABLES]
    if unknown:
        raise TemplateError(
            f"canned response {name!r} uses unknown variable(s) {', '.join('{' + v + '}' for v in unknown)}; "
            f"known: {', '.join('{' + v + '}' for v in sorted(VARIABLES))}"
        )


def build_canned_response(
    name: str, content: str, category: str | None = None, self_service: bool = False,
    translations: Mapping[str, str] | None = None,
) -> CannedResponse:
    """Refuses a template (or a translation) with an unknown variable, naming it and the known ones."""
    if not name.strip():
        raise TemplateError("a canned response needs a name")
    _check(name, content)
    checked: list[tuple[str, str]] = []
    for language, text in (translations or {}).items():
        code = language.strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise TemplateError(f"canned response {name!r}: translation key {language!r} is not a language code "
                                f"such as fr or de")
        _check(f"{name} ({code})", text)
        checked.append((code, text))
    return CannedResponse(name, content, category, self_service, tuple(checked))


def template_values(ticket: Ticket, agent_name: str, company: str = DEFAULT_COMPANY) -> dict[str, str]:
    created = ticket.timeline.created
    return {
        "customer_name": ticket.customer.name or ticket.customer.email.split("@")[0],
        "ticket_id": ticket.id,
        "category": ticket.category.value.replace("_", " "),
        "created_date": f"{created.day} {created:%B %Y}",
        "agent_name": agent_name,
        "company": company,
    }


def render(response: CannedResponse, values: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), response.content)
