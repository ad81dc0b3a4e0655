"""SLA minutes by priority and tier, and the deadlines they give."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ticketing.errors import ConfigError
from ticketing.model import Priority, Sla, Tier


@dataclass(frozen=True)
class SlaTarget:
    first_response: int  # minutes
    resolution: int  # minutes


SlaMatrix = Mapping[Priority, Mapping[Tier, SlaTarget]]


def _row(*cells: tuple[int, int]) -> dict[Tier, SlaTarget]:
    tiers = (Tier.ENTERPRISE, Tier.SCALE, Tier.PROFESSIONAL, Tier.STARTER, Tier.FREE)
    return {tier: SlaTarget(*cell) for tier, cell in zip(tiers, cells, strict=True)}


DEFAULT_SLA_MATRIX: SlaMatrix = {
    Priority.CRITICAL: _row((15, 120), (30, 240), (60, 480), (120, 1440), (1440, 2880)),
    Priority.HIGH: _row((60, 480), (120, 960), (240, 1440), (480, 2880), (1440, 4320)),
    Priority.MEDIUM: _row((240, 1440), (480, 2880), (960, 4320), (1440, 5760), (2880, 7200)),
    Priority.LOW: _row((1440, 4320), (1440, 7200), (1440, 7200), (1440, 7200), (1440, 7200)),
}


def check_matrix(matrix: SlaMatrix) -> None:
    """Every priority x tier cell present, positive, and first response no later than resolution."""
    for priority in Priority:
        for tier in Tier:
            cell = matrix.get(priority, {}).get(tier)
            if cell is None:
                raise ConfigError(
                    f"sla.{priority}.{tier} is missing: give first_response and resolution minutes"
                )
            if cell.first_response <= 0 or cell.resolution <= 0:
                raise ConfigError(f"sla.{priority}.{tier}: minutes must be positive")
            if cell.first_response > cell.resolution:
                raise ConfigError(f"sla.{priority}.{tier}: first_response is longer than resolution")


def order_warnings(matrix: SlaMatrix) -> tuple[str, ...]:
    """Cells where a lower priority is due sooner than a higher one for the same tier (WedSync's own notes
    give free-tier low tickets a 24 h first response and medium ones 48 h). Allowed, but worth a warning:
    one line per cell and clock, naming both cells and their minutes."""
    ladder = (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    found = []
    for tier in Tier:
        for clock in ("first_response", "resolution"):
            for rank, higher in enumerate(ladder):
                for lower in ladder[rank + 1:]:
                    soon, late = getattr(matrix[lower][tier], clock), getattr(matrix[higher][tier], clock)
                    if soon < late:
                        found.append(f"sla.{lower}.{tier}: a {lower} ticket's {clock.replace('_', ' ')} is due in "
                                     f"{soon} min, sooner than a {higher} one's ({late} min, sla.{higher}.{tier})")
    return tuple(found)


def build_sla(
    priority: Priority, tier: Tier, created: datetime, matrix: SlaMatrix = DEFAULT_SLA_MATRIX
) -> Sla:
    target = matrix[priority][tier]
    return Sla(
        first_response_minutes=target.first_response,
        resolution_minutes=target.resolution,
        first_response_due=created + timedelta(minutes=target.first_response),
        resolution_due=created + timedelta(minutes=target.resolution),
    )
