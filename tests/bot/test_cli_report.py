"""`wedsync-support report daily|tickets` end to end: tickets made by the CLI itself, read back as reports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.bot.test_cli import cli


@pytest.fixture
def desk_env(in_tmp: Path, database_url: str, support_yml: Path) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml)}
    for sender, subject, body in (("a@example.com", "Payment failed", "My card payment failed twice"),
                                  ("b@example.com", "Question", "How do I add a logo?")):
        code, output = cli("tickets", "new", "--from", sender, "--subject", subject, "--body", body, env=env)
        assert code == 0, output
    return env


def test_the_daily_report_prints_todays_tickets_as_csv_json_and_a_table(desk_env: dict[str, str]) -> None:
    today = datetime.now(UTC).date().isoformat()
    code, output = cli("report", "daily", "--days", "3", "--csv", env=desk_env)
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert rows[0]["day"] == today and len(rows) == 3
    assert (rows[0]["total"], rows[0]["critical"], rows[0]["resolved"], rows[0]["resolution_rate_pct"]) == (
        "2", "1", "0", "0.0")
    code, output = cli("report", "daily", "--days", "1", "--json", "--team", "billing_team", env=desk_env)
    assert code == 0, output
    assert json.loads(output)[0]["total"] == 1
    code, output = cli("report", "daily", env=desk_env)
    assert code == 0 and "Daily ticket report" in output and today in output


def test_the_ticket_export_has_one_row_per_ticket_with_its_facts(desk_env: dict[str, str]) -> None:
    today = datetime.now(UTC).date().isoformat()
    code, output = cli("report", "tickets", "--since", today, "--csv", env=desk_env)
    assert code == 0, output
    assert "2 ticket(s)" in output  # on stderr, which the runner mixes in
    rows = list(csv.DictReader(io.StringIO("\n".join(line for line in output.splitlines() if "," in line))))
    assert sorted(r["priority"] for r in rows) == ["critical", "low"]
    assert {r["team"] for r in rows} == {"billing_team", "customer_success"}
    assert all(r["merged_into"] == "" and r["reopened"] == "0" for r in rows)


def test_bad_report_options_name_the_option_and_the_fix(desk_env: dict[str, str]) -> None:
    code, output = cli("report", "daily", "--team", "nope", env=desk_env)
    assert code == 1 and "--team 'nope' is not a team of support.yml" in output and "billing_team" in output
    code, output = cli("report", "tickets", "--since", "yesterday", env=desk_env)
    assert code == 2 and "YYYY-MM-DD" in output
    code, output = cli("report", "daily", "--csv", "--json", env=desk_env)
    assert code == 2 and "not both" in output


def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted() -> None:
    from bot.cli_report import _cell

    assert _cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert _cell("@sum") == "'@sum" and _cell("billing") == "billing" and _cell(-1) == -1
