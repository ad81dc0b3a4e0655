"""Automation rules: a small validated format (plain data, never `eval`), checked on ticket events.

    rules:
      - name: refund request            # required; unique, ignoring case
        on: [created, customer_reply]   # optional, default [created]; events: created | customer_reply | rating
        repeat: false                   # optional; see "Once per ticket" below
        when:                           # optional (none: always); every condition must hold
          category: [billing, refund]   # category, type, tier, user_type: a value or a list (any of them)
          text_contains: refund         # a phrase or a list (any); ignores case
          account_age_hours: {lt: 24}   # account_age_hours, previous_tickets, average_satisfaction:
                                        #   comparisons lt, lte, gt, gte, eq (all must hold)
        then:                           # required: at least one action, carried out in the order written
          send_canned: refund_policy
          add_tags: [refund_request]    # a tag or a list
          set_priority: high
          assign: {role: onboarding_specialist}   # or {agent: U0123}
          escalate: "reason"            # or true (the reason names the rule); false: no action
          notify_managers: true         # or a reason; false: no action

Text is the subject and description, plus, on customer_reply, the newest customer message. A fact the desk
does not have (no account date, no rating yet) makes its condition false, never an error.

Once per ticket: every firing is recorded in `metadata.extra["automation"]`, and a rule recorded there is not
fired again, whatever the event, so a rule `on: [created, customer_reply]` fires when the ticket is created or
at the first reply that makes it match, and never sends its canned response twice. With `repeat: true` it
fires on every event it matches. A rule is known by its name: renaming it lets it fire again.
"""

from __future__ import annotations

import difflib
import math
import operator
import reprlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from ticketing.errors import UserFacingError
from ticketing.model import Author, Category, Priority, Ticket, TicketType, Tier, UserType


class RuleError(UserFacingError):
    """Every mistake in the rules at once, each as `path: problem; fix`."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        head = "an automation rule has a mistake" if len(self.problems) == 1 else (
            f"the automation rules have {len(self.problems)} mistakes")
        super().__init__(head + ":\n  " + "\n  ".join(self.problems))


class RuleEvent(StrEnum):
    CREATED = "created"
    CUSTOMER_REPLY = "customer_reply"
    RATING = "rating"


class Fact(StrEnum):
    ACCOUNT_AGE_HOURS = "account_age_hours"
    PREVIOUS_TICKETS = "previous_tickets"
    AVERAGE_SATISFACTION = "average_satisfaction"


# Comparisons, by their name in the format.
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge, "eq": operator.eq,
}

# Conditions on a value from a fixed list: the allowed values and where the ticket keeps it.
_CHOICES: dict[str, tuple[type[StrEnum], Callable[[Ticket], StrEnum]]] = {
    "category": (Category, lambda t: t.category),
    "type": (TicketType, lambda t: t.type),
    "tier": (Tier, lambda t: t.customer.tier),
    "user_type": (UserType, lambda t: t.customer.user_type),
}
CONDITIONS = (*_CHOICES, "text_contains", *Fact)
ACTIONS = ("send_canned", "add_tags", "set_priority", "assign", "escalate", "notify_managers")
RULE_KEYS = ("name", "on", "repeat", "when", "then")
DEFAULT_ROLES = ("agent", "senior", "lead", "onboarding_specialist")


@dataclass(frozen=True)
class IsOneOf:
    condition: str  # a key of _CHOICES
    values: tuple[str, ...]


@dataclass(frozen=True)
class TextContains:
    phrases: tuple[str, ...]  # casefolded


@dataclass(frozen=True)
class Compare:
    fact: Fact
    op: str  # a key of _COMPARE
    value: int | float


Condition: TypeAlias = IsOneOf | TextContains | Compare


@dataclass(frozen=True)
class SendCanned:
    name: str


@dataclass(frozen=True)
class AddTags:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SetPriority:
    priority: Priority


@dataclass(frozen=True)
class AssignAgent:
    slack_id: str


@dataclass(frozen=True)
class AssignRole:
    role: str  # the caller maps it to an agent


@dataclass(frozen=True)
class Escalate:
    reason: str


@dataclass(frozen=True)
class NotifyManagers:
    reason: str


Action: TypeAlias = SendCanned | AddTags | SetPriority | AssignAgent | AssignRole | Escalate | NotifyManagers
# What `apply_to_ticket` leaves to the caller: sending, choosing people, escalating, notifying.
EFFECTS = (SendCanned, AssignAgent, AssignRole, Escalate, NotifyManagers)


@dataclass(frozen=True)
class Rule:
    name: str
    events: tuple[RuleEvent, ...]
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    repeat: bool = False


@dataclass(frozen=True)
class Firing:
    rule: str
    event: RuleEvent
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class RuleContext:
    ticket: Ticket
    event: RuleEvent
    now: datetime

    @property
    def account_age_hours(self) -> float | None:
        created = self.ticket.customer.account_created_at
        return None if created is None else max(0.0, (self.now - created).total_seconds() / 3600)

    @property
    def previous_tickets(self) -> int:
        return self.ticket.customer.previous_tickets

    @property
    def average_satisfaction(self) -> float | None:
        return self.ticket.customer.average_satisfaction

    @property
    def text(self) -> str:
        parts = [self.ticket.subject, self.ticket.description]
        if self.event is RuleEvent.CUSTOMER_REPLY:
            reply = next((m for m in reversed(self.ticket.messages) if m.author is Author.CUSTOMER), None)
            parts += [reply.body] if reply is not None else []
        return "\n".join(parts).casefold()


_FACTS: dict[Fact, Callable[[RuleContext], float | None]] = {
    Fact.ACCOUNT_AGE_HOURS: lambda c: c.account_age_hours,
    Fact.PREVIOUS_TICKETS: lambda c: c.previous_tickets,
    Fact.AVERAGE_SATISFACTION: lambda c: c.average_satisfaction,
}


def holds(condition: Condition, context: RuleContext) -> bool:
    if isinstance(condition, IsOneOf):
        return _CHOICES[condition.condition][1](context.ticket).value in condition.values
    if isinstance(condition, TextContains):
        text = context.text
        return any(phrase in text for phrase in condition.phrases)
    known = _FACTS[condition.fact](context)
    return known is not None and _COMPARE[condition.op](known, condition.value)


def recorded_firings(ticket: Ticket) -> list[dict[str, Any]]:
    records = ticket.metadata.extra.get("automation")
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def evaluate(rules: Iterable[Rule], context: RuleContext) -> tuple[Firing, ...]:
    """The rules that fire for this event, in their order. A rule already recorded on the ticket is skipped
    unless it says `repeat: true`."""
    done = {r["rule"] for r in recorded_firings(context.ticket) if isinstance(r.get("rule"), str)}
    return tuple(
        Firing(rule.name, context.event, rule.actions)
        for rule in rules
        if context.event in rule.events
        and (rule.repeat or rule.name not in done)
        and all(holds(c, context) for c in rule.conditions)
    )


def action_data(action: Action) -> dict[str, Any]:
    """An action as JSON-ready data, in the rule format's own words."""
    if isinstance(action, SendCanned):
        return {"send_canned": action.name}
    if isinstance(action, AddTags):
        return {"add_tags": list(action.tags)}
    if isinstance(action, SetPriority):
        return {"set_priority": action.priority.value}
    if isinstance(action, AssignAgent):
        return {"assign": {"agent": action.slack_id}}
    if isinstance(action, AssignRole):
        return {"assign": {"role": action.role}}
    if isinstance(action, Escalate):
        return {"escalate": action.reason}
    return {"notify_managers": action.reason}


def apply_to_ticket(ticket: Ticket, firings: Sequence[Firing], now: datetime) -> Ticket:
    """Tags (no duplicates), priority (the last rule to set it wins; the SLA is left as it was, as an agent's
    priority change leaves it) and a record of each firing. The rest is for the caller: see `effects`."""
    if not firings:
        return ticket
    tags, priority = list(ticket.tags), ticket.priority
    for action in (a for firing in firings for a in firing.actions):
        if isinstance(action, AddTags):
            tags += [tag for tag in action.tags if tag not in tags]
        elif isinstance(action, SetPriority):
            priority = action.priority
    records = [{"rule": f.rule, "event": f.event.value, "at": now.isoformat(),
                "actions": [action_data(a) for a in f.actions]} for f in firings]
    extra = {**ticket.metadata.extra, "automation": [*recorded_firings(ticket), *records]}
    return replace(ticket, tags=tuple(tags), priority=priority, metadata=replace(ticket.metadata, extra=extra),
                   timeline=replace(ticket.timeline, last_update=max(ticket.timeline.last_update, now)))


def effects(firings: Iterable[Firing]) -> tuple[Action, ...]:
    """The actions needing the outside world, in firing order: send, assign, escalate, notify."""
    return tuple(a for f in firings for a in f.actions if isinstance(a, EFFECTS))


def _show(value: object) -> str:
    return reprlib.repr(value)  # shortened, and safe on deeply nested or self-containing data


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    return f"{_show(value)} ({type(value).__name__})"


def _choices(known: Iterable[str], value: object) -> str:
    names = sorted(str(name) for name in known)
    close = difflib.get_close_matches(value, names, n=1) if isinstance(value, str) else []
    return (", ".join(names) or "none") + (f"; did you mean {close[0]!r}?" if close else "")


def _texts(value: object, path: str, what: str, problems: list[str]) -> tuple[str, ...]:
    """A text or a non-empty list of texts, each stripped and non-empty."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        problems.append(f"{path}: expected {what} or a list of them, got {_kind(value)}")
        return ()
    return tuple(dict.fromkeys(i.strip() for i in items))


class _Parser:
    def __init__(self, templates: Collection[str], agents: Collection[str], roles: Collection[str]) -> None:
        self.templates, self.agents, self.roles = templates, agents, roles
        self.problems: list[str] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def rule(self, item: object, path: str) -> Rule | None:
        if not isinstance(item, dict):
            self.problem(path, f"a rule is a mapping with name, on, when and then; got {_kind(item)}")
            return None
        before = len(self.problems)
        # YAML 1.1 (PyYAML) reads a bare `on:` key as true.
        fields = {("on" if key is True else key): value for key, value in item.items()}
        for key in fields:
            if key not in RULE_KEYS:
                self.problem(path, f"unknown key {_show(key)}; known: {_choices(RULE_KEYS, key)}")
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(f"{path}.name", "a rule needs a name" + ("" if name is None else f", got {_kind(name)}"))
            name = ""
        events = self.events(fields.get("on", ["created"]), f"{path}.on")
        repeat = fields.get("repeat", False)
        if not isinstance(repeat, bool):
            self.problem(f"{path}.repeat", f"repeat is true or false, got {_kind(repeat)}")
        conditions = self.when(fields["when"], f"{path}.when") if "when" in fields else ()
        actions = self.then(fields.get("then"), f"{path}.then", name.strip())
        if len(self.problems) > before:
            return None
        return Rule(name.strip(), events, conditions, actions, repeat is True)

    def events(self, value: object, path: str) -> tuple[RuleEvent, ...]:
        names = _texts(value, path, "an event (created, customer_reply, rating)", self.problems)
        for name in names:
            if name not in RuleEvent.__members__.values():
                self.problem(path, f"unknown event {name!r}; use {_choices(RuleEvent, name)}")
        return tuple(RuleEvent(n) for n in names if n in RuleEvent.__members__.values())

    def when(self, when: object, path: str) -> tuple[Condition, ...]:
        if not isinstance(when, dict):
            self.problem(path, f"'when' must be a mapping of conditions, e.g. {{category: billing}}; got {_kind(when)}")
            return ()
        conditions: list[Condition] = []
        for key, value in when.items():
            where = f"{path}.{key}"
            if key in _CHOICES:
                enum = _CHOICES[key][0]
                values = _texts(value, where, f"a {key}", self.problems)
                wrong = [v for v in values if v not in enum.__members__.values()]
                for v in wrong:
                    self.problem(where, f"unknown {key} {v!r}; use one of {_choices(enum, v)}")
                conditions.append(IsOneOf(key, values))
            elif key == "text_contains":
                phrases = _texts(value, where, "a phrase", self.problems)
                conditions.append(TextContains(tuple(p.casefold() for p in phrases)))
            elif key in Fact.__members__.values():
                conditions += self.comparisons(Fact(key), value, where)
            else:
                self.problem(path, f"unknown condition {_show(key)}; known: {_choices(CONDITIONS, key)}")
        return tuple(conditions)

    def comparisons(self, fact: Fact, value: object, path: str) -> list[Compare]:
        example = f"e.g. {{{fact}: {{lt: 24}}}}; comparisons: {', '.join(_COMPARE)}"
        if not isinstance(value, dict) or not value:
            self.problem(path, f"expected comparisons, {example}; got {_kind(value)}")
            return []
        found: list[Compare] = []
        for op, bound in value.items():
            if op not in _COMPARE:
                self.problem(path, f"unknown comparison operator {_show(op)}; use {', '.join(_COMPARE)}")
            elif isinstance(bound, bool) or not isinstance(bound, int | float) or (
                isinstance(bound, float) and not math.isfinite(bound)
            ):
                self.problem(f"{path}.{op}", f"expected a number, got {_kind(bound)}")
            else:
                found.append(Compare(fact, op, bound))
        return found

    def then(self, then: object, path: str, rule: str) -> tuple[Action, ...]:
        if not isinstance(then, dict) or not then:
            empty = then is None or isinstance(then, dict)
            problem = "a rule needs at least one action in 'then'" if empty else "'then' must be a mapping of actions"
            self.problem(path, f"{problem}, e.g. {{add_tags: [vip]}}; known: {', '.join(ACTIONS)}")
            return ()
        actions: list[Action] = []
        for key, value in then.items():
            where = f"{path}.{key}"
            if key not in ACTIONS:
                self.problem(path, f"unknown action {_show(key)}; known: {_choices(ACTIONS, key)}")
            elif key == "send_canned":
                if not isinstance(value, str) or value not in self.templates:
                    self.problem(where, f"no canned response named {_show(value)} "
                                        f"(known: {_choices(self.templates, value)})")
                else:
                    actions.append(SendCanned(value))
            elif key == "add_tags":
                tags = _texts(value, where, "a tag", self.problems)
                for tag in (t for t in tags if len(t.split()) > 1):
                    self.problem(where, f"tag {tag!r} has spaces; use one word, e.g. {'_'.join(tag.split())}")
                actions.append(AddTags(tags))
            elif key == "set_priority":
                if not isinstance(value, str) or value not in Priority.__members__.values():
                    self.problem(where, f"set_priority must be one of {', '.join(Priority)}; got {_kind(value)}")
                else:
                    actions.append(SetPriority(Priority(value)))
            elif key == "assign":
                actions += self.assign(value, where)
            elif value is True or (isinstance(value, str) and value.strip()):
                reason = value.strip() if isinstance(value, str) else f"automation rule {rule!r}"
                actions.append(Escalate(reason) if key == "escalate" else NotifyManagers(reason))
            elif value is not False:
                self.problem(where, f"{key} takes a reason (text) or true; got {_kind(value)}")
        if not actions and not any(p.startswith(path) for p in self.problems):
            self.problem(path, "a rule needs at least one action in 'then' (false turns an action off)")
        return tuple(actions)

    def assign(self, value: object, path: str) -> list[Action]:
        if not isinstance(value, dict) or len(value) != 1 or not ({"agent", "role"} & value.keys()):
            self.problem(path, f"assign takes {{agent: <slack id>}} or {{role: <role>}}; got {_kind(value)}")
            return []
        ((key, who),) = value.items()
        known = self.agents if key == "agent" else self.roles
        if not isinstance(who, str) or who not in known:
            missing = f"no agent {_show(who)} in support.yml" if key == "agent" else f"unknown role {_show(who)}"
            self.problem(f"{path}.{key}", f"{missing}; known: {_choices(known, who)}")
            return []
        return [AssignAgent(who) if key == "agent" else AssignRole(who)]


def _rule_items(data: object, problems: list[str]) -> list[object]:
    if isinstance(data, dict):
        for key in data:
            if key != "rules":
                problems.append(f"{_show(key)}: unknown key; the rules go under 'rules:'")
        data = data.get("rules")
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"rules: expected a list of rules, got {_kind(data)}")
        return []
    return data


def parse_rules(
    data: object,
    *,
    known_templates: Collection[str],
    known_agents: Collection[str],
    known_roles: Collection[str] = DEFAULT_ROLES,
) -> tuple[Rule, ...]:
    """`{"rules": [...]}` or the list itself (None: no rules). Raises one RuleError listing every mistake."""
    parser = _Parser(frozenset(known_templates), frozenset(known_agents), frozenset(known_roles))
    rules: list[Rule] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(_rule_items(data, parser.problems)):
        rule = parser.rule(item, f"rules[{index}]")
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip():
            seen = first_index.setdefault(name.strip().casefold(), index)
            if seen != index:
                parser.problem(f"rules[{index}].name", f"duplicate rule name {name.strip()!r} (also rules[{seen}]); "
                                                       "give each rule its own name")
        if rule is not None:
            rules.append(rule)
    if parser.problems:
        raise RuleError(parser.problems)
    return tuple(rules)


# WedSync's three rules. "A billing ticket" is category billing or refund: the default patterns file any
# mention of a refund under `refund`, so `billing` alone would rarely see the word.
DEFAULT_RULES_DATA: dict[str, list[dict[str, Any]]] = {"rules": [
    {"name": "refund request", "on": ["created", "customer_reply"],
     "when": {"category": ["billing", "refund"], "text_contains": "refund"},
     "then": {"send_canned": "refund_policy", "add_tags": ["refund_request"], "set_priority": "high"}},
    {"name": "new account onboarding", "on": ["created"],
     "when": {"category": "onboarding", "account_age_hours": {"lt": 24}},
     "then": {"send_canned": "onboarding_welcome", "assign": {"role": "onboarding_specialist"},
              "add_tags": ["new_user"]}},
    {"name": "at-risk customer", "on": ["created"],
     "when": {"previous_tickets": {"gt": 5}, "average_satisfaction": {"lt": 3}},
     "then": {"escalate": "at-risk customer: more than 5 previous tickets and average satisfaction below 3",
              "notify_managers": True, "add_tags": ["at_risk_customer"]}},
]}
