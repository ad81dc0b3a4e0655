"""support.yml: company, founder, managers, teams, agents, SLA, patterns and canned responses.

Read with PyYAML, checked with pydantic. A mistake stops the program before it starts, with the key,
the problem and the fix; nothing runs half-configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigFileError
from ticketing.calendar import Calendar
from ticketing.canned import CannedResponse, build_canned_response
from ticketing.classify import Pattern, build_pattern, default_patterns
from ticketing.digest import DigestTarget
from ticketing.errors import TicketingError
from ticketing.model import AgentRole, Category, Priority, Status, TicketType, Tier
from ticketing.routing import AgentProfile
from ticketing.rules import DEFAULT_RULES_DATA, Rule, parse_rules
from ticketing.sla import DEFAULT_SLA_MATRIX, SlaMatrix, SlaTarget, check_matrix
from ticketing.sla_clock import DEFAULT_POLICY, SlaPolicy

DEFAULTS = Path(__file__).parent / "defaults"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DIGEST_TIME = "08:30"
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str
    slack_id: str | None = None
    email: str | None = None
    phone: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$", description="E.164, e.g. +447700900123")
    quiet_hours: str | None = None  # "22:00-07:00": no SMS then, unless the ticket is critical
    timezone: str = "UTC"

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None and not _HOURS.match(value):
            raise ValueError(f"{value!r} is not HH:MM-HH:MM, e.g. 22:00-07:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _person_zone(cls, value: str) -> str:
        return _check_zone(value)


def _check_channel(value: str | None) -> str | None:
    if value is None or _CHANNEL_ID.match(value):
        return value
    if value.startswith("#") or not value[:1].isupper():
        raise ValueError(f"{value!r} is a channel name: use the channel id (C..., e.g. C0123ABCD), not its name; "
                         "Slack shows it at the bottom of the channel's details")
    raise ValueError(f"{value!r} is not a Slack channel id: it starts with C (or G) and has capital letters "
                     "and digits, e.g. C0123ABCD (the bottom of the channel's details in Slack)")


class Team(_Strict):
    channel: str | None = Field(None, description="a Slack channel id, e.g. C0123ABCD")
    lead: str | None = None
    # Business hours for this team's SLA clocks; leave out for around the clock.
    hours: str | None = None  # "09:00-17:30"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    timezone: str = "UTC"
    holidays: str | None = None  # a country code for the `holidays` package, e.g. GB, or GB-SCT
    extra_holidays: tuple[date, ...] = ()

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        return _check_channel(value)

    @field_validator("hours")
    @classmethod
    def _team_hours(cls, value: str | None) -> str | None:
        if value is not None and not _HOURS.match(value):
            raise ValueError(f"{value!r} is not HH:MM-HH:MM, e.g. 09:00-17:30")
        return value

    @field_validator("timezone")
    @classmethod
    def _team_zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None:
            country, _, region = value.partition("-")
            try:
                holidays_lib.country_holidays(country, subdiv=region or None, years=2026)
            except NotImplementedError as error:
                raise ValueError(f"unknown holiday calendar {value!r}; use a country code like GB or US-NY") from error
        return value

    def calendar(self, years: range) -> Calendar:
        if self.hours is None:
            return Calendar.always()
        start, end = self.hours.split("-")
        days = [DAYS.index(d.lower()[:3]) for d in self.days]
        dates: set[date] = set(self.extra_holidays)
        if self.holidays:
            country, _, region = self.holidays.partition("-")
            dates |= set(holidays_lib.country_holidays(country, subdiv=region or None, years=list(years)))
        return Calendar.weekly(self.timezone, time.fromisoformat(start), _end_time(end), days, dates)


class SlaPolicySpec(_Strict):
    pausing_statuses: tuple[Status, ...] = (Status.WAITING_CUSTOMER,)
    warning: float = Field(0.75, gt=0, le=1)
    follow_up: float = Field(0.5, gt=0, le=10)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/London") from error
    return value


class Agent(_Strict):
    slack_id: str = Field(pattern=r"^[UW][A-Z0-9]{6,}$")
    name: str
    email: str
    team: str
    role: AgentRole = AgentRole.AGENT
    skills: tuple[Category, ...] = ()
    languages: tuple[str, ...] = ("en",)
    timezone: str = "UTC"
    working_hours: str = "09:00-17:30"
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    expertise: int = Field(1, ge=0, le=5)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/London") from error
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not _HOURS.match(value):
            raise ValueError(f"{value!r} is not HH:MM-HH:MM, e.g. 09:00-17:30")
        return value

    @field_validator("working_days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [d for d in value if d.lower()[:3] not in DAYS]
        if wrong:
            raise ValueError(f"unknown day(s) {wrong}; use {', '.join(DAYS)}")
        return tuple(d.lower()[:3] for d in value)

    def profile(self) -> AgentProfile:
        start, end = self.working_hours.split("-")
        return AgentProfile(
            slack_id=self.slack_id, name=self.name, email=self.email, team=self.team, role=self.role,
            skills=tuple(s.value for s in self.skills), languages=self.languages, timezone=self.timezone,
            work_start=time.fromisoformat(start), work_end=_end_time(end),
            work_days=tuple(DAYS.index(d) for d in self.working_days), expertise=self.expertise,
        )


def _end_time(text: str) -> time:
    return time(23, 59, 59) if text == "24:00" else time.fromisoformat(text)


class PatternSpec(_Strict):
    name: str
    regex: str
    category: Category
    type: TicketType
    tags: tuple[str, ...] = ()
    template: str | None = None
    confidence: float = Field(0.9, ge=0, le=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"regex does not compile: {error}") from error
        return value


class CannedSpec(_Strict):
    name: str
    content: str
    category: str | None = None
    self_service: bool = False
    translations: dict[str, str] = Field(default_factory=dict)  # language code -> content, e.g. fr: "Bonjour"


def _check_clock(value: str | None) -> str | None:
    if value is not None and not _CLOCK.match(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM (24-hour), e.g. 08:30")
    return value


class DigestAt(_Strict):
    """One digest's place and time; what is left out comes from `digest:` (time, timezone) or the team."""

    channel: str | None = None
    time: str | None = None
    timezone: str | None = None
    enabled: bool = True

    @field_validator("channel")
    @classmethod
    def _digest_channel(cls, value: str | None) -> str | None:
        return _check_channel(value)

    @field_validator("time")
    @classmethod
    def _digest_time(cls, value: str | None) -> str | None:
        return _check_clock(value)

    @field_validator("timezone")
    @classmethod
    def _digest_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


class DigestSpec(_Strict):
    """`digest:` in support.yml. Present: each team with a channel gets its morning digest there (unless
    `every_team: false`), at `time` in the team's time zone (or `timezone`); `managers:` adds one about all
    teams. Absent: no digest."""

    time: str = DIGEST_TIME
    timezone: str | None = None
    every_team: bool = True
    teams: dict[str, DigestAt] = {}
    managers: DigestAt | None = None

    @field_validator("time")
    @classmethod
    def _default_time(cls, value: str) -> str:
        _check_clock(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _default_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


def digest_targets(spec: DigestSpec | None, teams: dict[str, Team]) -> tuple[DigestTarget, ...]:
    """The channels that get a digest, checked: known teams, a channel for each, no channel twice (one digest a
    channel a day is what the desk records). A mistake names the setting."""
    if spec is None:
        return ()
    for name in spec.teams:
        if name not in teams:
            raise ValueError(f"digest.teams.{name}: unknown team {name!r}; "
                             f"use one of {sorted(teams) or 'none defined'}")
    found: list[DigestTarget] = []
    for name, team in teams.items():
        given = spec.teams.get(name)
        if (given is None and not spec.every_team) or (given is not None and not given.enabled):
            continue
        channel = (given.channel if given else None) or team.channel
        if channel is None:
            if given is not None:
                raise ValueError(f"digest.teams.{name}: no channel; set digest.teams.{name}.channel or "
                                 f"teams.{name}.channel (a channel id, e.g. C0123ABCD)")
            continue  # every_team: a team without a channel has no digest (its cards go elsewhere too)
        at = (given.time if given else None) or spec.time
        zone = (given.timezone if given else None) or spec.timezone or team.timezone
        found.append(DigestTarget(channel, name, time.fromisoformat(at), zone, f"digest.teams.{name}"))
    managers = spec.managers
    if managers is not None and managers.enabled:
        if managers.channel is None:
            raise ValueError("digest.managers.channel: missing; give the managers' channel id, e.g. C0123ABCD")
        found.append(DigestTarget(managers.channel, None, time.fromisoformat(managers.time or spec.time),
                                  managers.timezone or spec.timezone or "UTC", "digest.managers"))
    seen: dict[str, str] = {}
    for target in found:
        if target.channel in seen:
            raise ValueError(f"{target.setting}: channel {target.channel} already gets the digest of "
                             f"{seen[target.channel]}; give each digest its own channel")
        seen[target.channel] = target.setting
    return tuple(found)


class SupportFile(_Strict):
    company: str = "WedSync"
    founder: Person | None = None
    managers: tuple[Person, ...] = ()
    teams: dict[str, Team] = {}
    agents: tuple[Agent, ...] = ()
    sla: dict[Priority, dict[Tier, tuple[int, int]]] | None = None
    use_default_patterns: bool = True
    patterns: tuple[PatternSpec, ...] = ()
    canned_responses: tuple[CannedSpec, ...] | None = None
    sla_policy: SlaPolicySpec = SlaPolicySpec()
    rules: Any = None  # checked by ticketing.rules.parse_rules; None means WedSync's three default rules
    digest: DigestSpec | None = None  # the morning digest in Slack; off when left out

    @model_validator(mode="after")
    def _cross_checks(self) -> SupportFile:
        for index, agent in enumerate(self.agents):
            if agent.team not in self.teams:
                raise ValueError(f"agents[{index}].team: unknown team {agent.team!r}; "
                                 f"add it under teams: or use one of {sorted(self.teams) or 'none defined'}")
        ids = [a.slack_id for a in self.agents]
        if len(ids) != len(set(ids)):
            raise ValueError("agents: the same slack_id is listed twice")
        digest_targets(self.digest, self.teams)  # its mistakes, named, before anything runs
        return self


@dataclass(frozen=True)
class SupportConfig:
    """The checked configuration the program runs with."""

    company: str
    founder: Person | None
    managers: tuple[Person, ...]
    teams: dict[str, Team]
    agents: tuple[AgentProfile, ...]
    sla: SlaMatrix
    patterns: tuple[Pattern, ...]
    canned: tuple[CannedResponse, ...]
    source: Path | None
    calendars: dict[str, Calendar] = field(default_factory=dict)
    sla_policy: SlaPolicy = DEFAULT_POLICY
    rules: tuple[Rule, ...] = ()
    digests: tuple[DigestTarget, ...] = ()  # `digest:`: the channels that get a morning digest

    def agent(self, slack_id: str) -> AgentProfile | None:
        return next((a for a in self.agents if a.slack_id == slack_id), None)

    def canned_response(self, name: str) -> CannedResponse | None:
        return next((c for c in self.canned if c.name == name), None)


def _matrix(spec: dict[Priority, dict[Tier, tuple[int, int]]] | None) -> SlaMatrix:
    if spec is None:
        return DEFAULT_SLA_MATRIX
    merged = {p: dict(DEFAULT_SLA_MATRIX[p]) for p in Priority}
    for priority, row in spec.items():
        for tier, (first, resolution) in row.items():
            merged[priority][tier] = SlaTarget(first, resolution)
    check_matrix(merged)
    return merged


def _default_canned() -> tuple[CannedSpec, ...]:
    data = yaml.safe_load((DEFAULTS / "canned_responses.yml").read_text(encoding="utf-8"))
    return tuple(CannedSpec(**item) for item in data["canned_responses"])


def build_config(data: dict[str, Any], source: Path | None = None) -> SupportConfig:
    """Check a parsed support.yml; raises ConfigFileError naming the key, the problem and the fix."""
    where = str(source) if source else "support.yml"
    try:
        spec = SupportFile.model_validate(data)
        custom = tuple(build_pattern(p.name, p.regex, p.category, p.type, p.tags, p.template, p.confidence)
                       for p in spec.patterns)
        given = {c.name: c for c in (*_default_canned(), *(spec.canned_responses or ()))}  # the file's win
        canned = tuple(build_canned_response(c.name, c.content, c.category, c.self_service, c.translations)
                       for c in given.values())
        return SupportConfig(
            company=spec.company, founder=spec.founder, managers=spec.managers, teams=dict(spec.teams),
            agents=tuple(a.profile() for a in spec.agents), sla=_matrix(spec.sla),
            patterns=custom + (default_patterns() if spec.use_default_patterns else ()),
            canned=canned, source=source,
            calendars={name: team.calendar(range(2020, 2041)) for name, team in spec.teams.items() if team.hours},
            sla_policy=SlaPolicy(frozenset(spec.sla_policy.pausing_statuses), spec.sla_policy.warning,
                                 spec.sla_policy.follow_up),
            rules=parse_rules(DEFAULT_RULES_DATA if spec.rules is None else {"rules": spec.rules},
                              known_templates=[c.name for c in canned], known_agents=[a.slack_id for a in spec.agents]),
            digests=digest_targets(spec.digest, dict(spec.teams)),
        )
    except ValidationError as error:
        raise ConfigFileError(f"{where} has mistakes:\n  " + "\n  ".join(_explain(e) for e in error.errors())
                              + "\nsee support.example.yml for every key") from error
    except TicketingError as error:
        raise ConfigFileError(f"{where}: {error}") from error


def _explain(issue: Any) -> str:
    key = ""
    for part in issue["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    message = str(issue["msg"]).removeprefix("Value error, ")
    if issue["type"] == "extra_forbidden":
        message = "unknown key; remove it or check its spelling"
    return f"{key or '(top level)'}: {message}"


def load_config(path: Path) -> SupportConfig:
    """support.yml at `path`; built-in defaults when the file does not exist."""
    if not path.exists():
        return build_config({}, None)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path} is not valid YAML: {error}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the top level must be a mapping of keys (company:, teams:, agents: ...)")
    return build_config(data, path)
