"""The reports' values: a period, one ticket's facts, and the figures, tables and charts built from them
(ticketing/reports.py builds them; the rules are in its docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

OPEN = frozenset({"open", "in_progress", "waiting_customer", "waiting_internal"})


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


@dataclass(frozen=True)
class Period:
    """[start, end): start included, end not."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts: {self.start.isoformat()} .. {self.end.isoformat()}")

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> Period:
        return Period(self.start - (self.end - self.start), self.start)

    @classmethod
    def last_days(cls, now: datetime, days: int) -> Period:
        if days < 1:
            raise ValueError(f"days must be 1 or more, got {days}")
        return cls(now - timedelta(days=days), now)


@dataclass(frozen=True)
class TicketFacts:
    id: str
    team: str
    category: str
    priority: str
    tier: str
    status: str
    created_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    assignee: str | None = None
    reopened: int = 0
    merged_into: str | None = None
    escalation_level: int = 0
    sla_breached: bool = False
    csat: int | None = None
    deflected: bool = False
    imported: bool = False
    tags: tuple[str, ...] = ()
    first_response_clock_minutes: float | None = None  # the SLA clock's business minutes, pauses left out
    resolution_clock_minutes: float | None = None

    @property
    def calendar_name(self) -> str:
        """The business-hours calendar its times are counted by: its team's (support.yml hours per team)."""
        return self.team

    @property
    def counts(self) -> bool:
        return self.merged_into is None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Figure:
    value: float | None
    target: float
    previous: float | None
    unit: str
    met: bool
    better: Better = Better.LOWER

    @property
    def change(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous


@dataclass(frozen=True)
class Spread:
    """An average with its median and 90th percentile (None when there is nothing to average)."""

    count: int = 0
    average: float | None = None
    p50: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class Summary:
    open_by_priority: Mapping[str, int]
    open_previous_by_priority: Mapping[str, int]
    first_response: Figure  # minutes
    first_response_spread: Spread
    resolution: Figure  # hours
    resolution_spread: Spread
    csat: Figure
    sla_compliance: Figure
    deflection: Figure
    escalation_rate: Figure
    resolved_per_agent_day: Figure

    @property
    def open_total(self) -> int:
        return sum(self.open_by_priority.values())

    @property
    def open_change(self) -> int:
        return self.open_total - sum(self.open_previous_by_priority.values())


@dataclass(frozen=True)
class DailyRow:
    day: date
    total: int
    critical: int
    resolved: int
    avg_first_response_minutes: float | None
    avg_resolution_hours: float | None
    sla_breaches: int
    resolution_rate: float | None  # percent of the day's tickets resolved


@dataclass(frozen=True)
class AgentRow:
    agent: str
    assigned: int
    resolved: int
    median_first_response_minutes: float | None
    sla_met_percent: float | None
    csat_percent: float | None


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int


@dataclass(frozen=True)
class Trend:
    key: str  # "category:billing" or "tag:stripe"
    this_week: int
    usual: float  # mean per week over the previous weeks
    ticket_ids: tuple[str, ...]


@dataclass(frozen=True)
class BacklogBucket:
    label: str
    count: int


@dataclass(frozen=True)
class VolumePoint:
    day: date
    created: int
    resolved: int


@dataclass(frozen=True)
class Dashboard:
    period: Period
    team: str | None
    summary: Summary
    volume: tuple[VolumePoint, ...]
    categories: tuple[CategoryCount, ...]
    agents: tuple[AgentRow, ...]
    trends: tuple[Trend, ...]
    backlog: tuple[BacklogBucket, ...]
    daily: tuple[DailyRow, ...] = field(default=())
