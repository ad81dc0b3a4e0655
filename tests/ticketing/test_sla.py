"""SLA: WedSync's 20-cell matrix, deadlines from the created time, and the matrix check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketing.errors import ConfigError
from ticketing.model import Priority, Tier
from ticketing.sla import DEFAULT_SLA_MATRIX, SlaMatrix, SlaTarget, build_sla, check_matrix, order_warnings

from .builders import NOW, a_customer, a_request, created_ticket

P, T = Priority, Tier

# (priority, tier, first response minutes, resolution minutes), as WedSync publishes them.
SLA_CELLS = [
    (P.CRITICAL, T.ENTERPRISE, 15, 120),
    (P.CRITICAL, T.SCALE, 30, 240),
    (P.CRITICAL, T.PROFESSIONAL, 60, 480),
    (P.CRITICAL, T.STARTER, 120, 1440),
    (P.CRITICAL, T.FREE, 1440, 2880),
    (P.HIGH, T.ENTERPRISE, 60, 480),
    (P.HIGH, T.SCALE, 120, 960),
    (P.HIGH, T.PROFESSIONAL, 240, 1440),
    (P.HIGH, T.STARTER, 480, 2880),
    (P.HIGH, T.FREE, 1440, 4320),
    (P.MEDIUM, T.ENTERPRISE, 240, 1440),
    (P.MEDIUM, T.SCALE, 480, 2880),
    (P.MEDIUM, T.PROFESSIONAL, 960, 4320),
    (P.MEDIUM, T.STARTER, 1440, 5760),
    (P.MEDIUM, T.FREE, 2880, 7200),
    (P.LOW, T.ENTERPRISE, 1440, 4320),
    (P.LOW, T.SCALE, 1440, 7200),
    (P.LOW, T.PROFESSIONAL, 1440, 7200),
    (P.LOW, T.STARTER, 1440, 7200),
    (P.LOW, T.FREE, 1440, 7200),
]
CELL_PARAMS = [
    pytest.param(p, t, fr, res, id=f"{p.value} for {t.value} is answered in {fr} and resolved in {res} minutes")
    for p, t, fr, res in SLA_CELLS
]


def _matrix_with(priority: Priority, tier: Tier, cell: SlaTarget | None) -> SlaMatrix:
    matrix = {p: dict(row) for p, row in DEFAULT_SLA_MATRIX.items()}
    if cell is None:
        del matrix[priority][tier]
    else:
        matrix[priority][tier] = cell
    return matrix


def test_the_table_in_this_file_has_all_twenty_cells() -> None:
    assert len({(p, t) for p, t, _, _ in SLA_CELLS}) == 20 == len(Priority) * len(Tier)


@pytest.mark.parametrize(("priority", "tier", "first_response", "resolution"), CELL_PARAMS)
def test_the_default_matrix_holds_wedsyncs_minutes(
    priority: Priority, tier: Tier, first_response: int, resolution: int
) -> None:
    assert DEFAULT_SLA_MATRIX[priority][tier] == SlaTarget(first_response, resolution)


@pytest.mark.parametrize(("priority", "tier", "first_response", "resolution"), CELL_PARAMS)
def test_build_sla_puts_the_deadlines_that_many_minutes_after_creation(
    priority: Priority, tier: Tier, first_response: int, resolution: int
) -> None:
    sla = build_sla(priority, tier, NOW)
    assert sla.first_response_minutes == first_response
    assert sla.resolution_minutes == resolution
    assert sla.first_response_due == NOW + timedelta(minutes=first_response)
    assert sla.resolution_due == NOW + timedelta(minutes=resolution)
    assert sla.breached is False


@pytest.mark.parametrize(("priority", "tier", "first_response", "resolution"), CELL_PARAMS)
def test_an_imported_ticket_created_three_hours_ago_has_deadlines_counted_from_then(
    priority: Priority, tier: Tier, first_response: int, resolution: int
) -> None:
    three_hours_ago = NOW - timedelta(hours=3)
    request = a_request(customer=a_customer(tier=tier), created_at=three_hours_ago, priority=priority)

    ticket = created_ticket(request, now=NOW).ticket

    assert ticket.timeline.created == three_hours_ago
    assert ticket.sla.first_response_due == three_hours_ago + timedelta(minutes=first_response)
    assert ticket.sla.resolution_due == three_hours_ago + timedelta(minutes=resolution)


def test_a_new_ticket_has_deadlines_counted_from_now() -> None:
    ticket = created_ticket(a_request(customer=a_customer(tier=T.ENTERPRISE)), now=NOW).ticket
    # An enterprise customer is high priority: 60 and 480 minutes.
    assert ticket.priority is P.HIGH
    assert ticket.sla.first_response_due == NOW + timedelta(minutes=60)
    assert ticket.sla.resolution_due == NOW + timedelta(minutes=480)


def test_build_sla_reads_a_custom_matrix() -> None:
    matrix = _matrix_with(P.LOW, T.FREE, SlaTarget(5, 10))
    sla = build_sla(P.LOW, T.FREE, NOW, matrix)
    assert (sla.first_response_due, sla.resolution_due) == (NOW + timedelta(minutes=5), NOW + timedelta(minutes=10))


def test_the_default_matrix_passes_its_own_check() -> None:
    check_matrix(DEFAULT_SLA_MATRIX)


def test_a_first_response_as_long_as_resolution_is_allowed() -> None:
    check_matrix(_matrix_with(P.HIGH, T.SCALE, SlaTarget(600, 600)))


@pytest.mark.parametrize(
    ("priority", "tier", "cell", "message"),
    [
        pytest.param(P.HIGH, T.SCALE, None, "sla.high.scale is missing",
                     id="a missing cell is refused naming high scale"),
        pytest.param(P.LOW, T.FREE, None, "sla.low.free is missing",
                     id="a missing cell is refused naming low free"),
        pytest.param(P.CRITICAL, T.ENTERPRISE, SlaTarget(0, 120), "sla.critical.enterprise: minutes must be positive",
                     id="a zero first response is refused"),
        pytest.param(P.MEDIUM, T.STARTER, SlaTarget(60, -1), "sla.medium.starter: minutes must be positive",
                     id="a negative resolution is refused"),
        pytest.param(P.LOW, T.PROFESSIONAL, SlaTarget(-5, -1), "sla.low.professional: minutes must be positive",
                     id="both negative is refused"),
        pytest.param(P.MEDIUM, T.FREE, SlaTarget(7201, 7200),
                     "sla.medium.free: first_response is longer than resolution",
                     id="a first response longer than resolution is refused"),
    ],
)
def test_check_matrix_refuses_a_bad_cell_naming_its_key(
    priority: Priority, tier: Tier, cell: SlaTarget | None, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        check_matrix(_matrix_with(priority, tier, cell))
    assert message in str(refused.value)


def test_check_matrix_refuses_a_missing_priority_row_naming_its_first_cell() -> None:
    matrix = {p: row for p, row in DEFAULT_SLA_MATRIX.items() if p is not P.MEDIUM}
    with pytest.raises(ConfigError, match=r"sla\.medium\.free is missing"):
        check_matrix(matrix)


# -- issue 12.11: a matrix where a lower priority is due sooner ---------------------------------------------

def test_the_default_matrix_warns_only_that_free_low_is_answered_before_free_medium() -> None:
    assert order_warnings(DEFAULT_SLA_MATRIX) == (
        "sla.low.free: a low ticket's first response is due in 1440 min, sooner than a medium one's "
        "(2880 min, sla.medium.free)",)


def test_a_matrix_in_priority_order_gives_no_warning() -> None:
    ordered = {p: {t: SlaTarget(10 * (rank + 1), 100 * (rank + 1)) for t in Tier}
               for rank, p in enumerate((Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW))}
    assert order_warnings(ordered) == ()


def test_a_lower_priority_resolved_sooner_than_every_higher_one_is_named_against_each() -> None:
    cells = {p: dict(DEFAULT_SLA_MATRIX[p]) for p in Priority}
    cells[Priority.LOW][Tier.ENTERPRISE] = SlaTarget(10, 60)  # sooner than critical's 15 / 120
    found = order_warnings(cells)
    assert [w for w in found if "enterprise" in w and "resolution" in w] == [
        f"sla.low.enterprise: a low ticket's resolution is due in 60 min, sooner than a {p} one's "
        f"({DEFAULT_SLA_MATRIX[p][Tier.ENTERPRISE].resolution} min, sla.{p}.enterprise)"
        for p in ("critical", "high", "medium")]
