"""The command line end to end: a real SQLite file (and PostgreSQL), the real migrations, Typer's runner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def desk_env(in_tmp: Path, database_url: str, support_yml: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml)}


def test_the_readme_example_prints_a_critical_billing_ticket_with_both_deadlines(in_tmp: Path) -> None:
    code, output = cli("tickets", "new", "--from", "bride@example.com", "--subject", "Payment failed",
                       "--body", "My card payment failed twice")
    assert code == 0, output
    assert re.search(r"\bBIL-[0-9A-Z]+-[0-9A-Z]{3}\b", output)
    assert re.search(r"priority\s+critical", output)
    assert re.search(r"first response\s+1440 min, due 20\d\d-\d\d-\d\d \d\d:\d\d UTC", output)
    assert re.search(r"resolution\s+2880 min, due", output)
    assert (in_tmp / "wedsync-support.db").exists(), "SQLite is created and migrated on first use"
    code, listing = cli("tickets", "list")
    assert code == 0 and "BIL-" in listing and "critical" in listing


def test_tickets_new_works_on_postgres_and_routes_to_the_best_agent(desk_env: dict[str, str]) -> None:
    code, output = cli("tickets", "new", "--from", "groom@example.com", "--subject", "Card declined",
                       "--body", "My card was declined at checkout", env=desk_env)
    assert code == 0, output
    # Bea has the billing skill, expertise 2, English and round-the-clock hours: 30+20+15+10 beats the lead.
    assert re.search(r"team\s+billing_team", output), output
    assert re.search(r"assignee\s+Bea Billing \(UBILLAGNT1\)", output), output


def test_tickets_list_filters_by_status_priority_and_team(desk_env: dict[str, str]) -> None:
    cli("tickets", "new", "--from", "a@example.com", "--subject", "Payment failed", "--body", "payment failed",
        env=desk_env)
    cli("tickets", "new", "--from", "b@example.com", "--subject", "Question", "--body", "How do I add a logo?",
        env=desk_env)
    _, billing = cli("tickets", "list", "--team", "billing_team", env=desk_env)
    _, low = cli("tickets", "list", "--priority", "low", env=desk_env)
    _, resolved = cli("tickets", "list", "--status", "resolved", env=desk_env)
    assert "a@example.com" in billing and "b@example.com" not in billing
    assert "b@example.com" in low and "a@example.com" not in low
    assert "no tickets" in resolved


def test_tickets_show_prints_the_timeline_and_messages(desk_env: dict[str, str]) -> None:
    _, output = cli("tickets", "new", "--from", "a@example.com", "--subject", "Form won't save",
                    "--body", "My form won't save since this morning", env=desk_env)
    ticket_id = re.search(r"\bFB-[0-9A-Z]+-[0-9A-Z]{3}\b", output).group(0)  # type: ignore[union-attr]
    code, shown = cli("tickets", "show", ticket_id.lower(), env=desk_env)
    assert code == 0
    assert "pattern: form_not_saving" in shown
    assert "My form won't save since this morning" in shown
    assert re.search(r"created\s+20\d\d", shown)


def test_tickets_show_of_an_unknown_id_says_so_and_exits_1(desk_env: dict[str, str]) -> None:
    code, output = cli("tickets", "show", "BIL-NOPE-000", env=desk_env)
    assert code == 1 and "no ticket BIL-NOPE-000" in output


def test_customers_import_keeps_good_rows_and_reports_bad_ones_by_line(desk_env: dict[str, str], in_tmp: Path) -> None:
    (in_tmp / "customers.csv").write_text(
        "email,name,type,tier,created_at,language\n"
        "anna@example.com,Anna Photo,supplier,enterprise,2026-11-26T08:00:00Z,en\n"
        "not-an-email,Bad,supplier,free,2026-01-01,en\n"
        "ben@example.com,Ben,couple,platinum,2026-01-01,en\n"
        "cara@example.com,Cara,couple,starter,yesterday,fr\n"
        "dan@example.com,Dan,couple,starter,2026-01-01,fr\n", encoding="utf-8")
    code, output = cli("customers", "import", "customers.csv", env=desk_env)
    assert code == 0, output
    assert "imported 2 customer(s); 3 row(s) skipped" in output
    assert "line 3: email 'not-an-email' is not an email address" in output
    assert "line 4: tier 'platinum' is not one of" in output
    assert "line 5: created_at 'yesterday' is not an ISO 8601" in output
    # The imported tier counts: an enterprise customer's ticket is high priority.
    _, ticket = cli("tickets", "new", "--from", "anna@example.com", "--subject", "Logo", "--body", "Where is it?",
                    env=desk_env)
    assert re.search(r"priority\s+high", ticket) and "enterprise" in ticket


def test_tickets_import_keeps_created_time_so_the_sla_is_right_from_the_start(
    desk_env: dict[str, str], in_tmp: Path
) -> None:
    lines = [
        {"customer_email": "ent@example.com", "subject": "Data gone", "description": "All my client forms vanished",
         "created_at": "2026-11-20T09:00:00Z", "status": "in_progress", "assignee": "UTECHAGNT1"},
        {"customer_email": "x@example.com", "subject": "Hi", "description": "hello", "created_at": "last week"},
        {"customer_email": "y@example.com", "subject": "Hi", "description": "hello",
         "created_at": "2026-11-20T09:00:00Z", "status": "closed"},
    ]
    (in_tmp / "old.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n", encoding="utf-8")
    code, output = cli("tickets", "import", "old.jsonl", env=desk_env)
    assert code == 0, output
    assert "imported 1 ticket(s); 3 line(s) skipped" in output
    assert "line 2: created_at 'last week'" in output and "line 3: status closed cannot be imported" in output
    assert "line 4: not JSON" in output
    _, listing = cli("tickets", "list", env=desk_env)
    ticket_id = re.search(r"\bDL-[0-9A-Z]+-[0-9A-Z]{3}\b", listing).group(0)  # type: ignore[union-attr]
    _, shown = cli("tickets", "show", ticket_id, env=desk_env)
    # data loss is critical; a free-tier critical ticket: 1440 / 2880 minutes from 2026-11-20 09:00
    assert "due 2026-11-21 09:00 UTC" in shown and "due 2026-11-22 09:00 UTC" in shown
    assert re.search(r"status\s+in_progress", shown) and re.search(r"assignee\s+Tom Tech \(UTECHAGNT1\)", shown)


def test_a_mistake_in_support_yml_names_the_key_the_problem_and_the_fix(in_tmp: Path) -> None:
    (in_tmp / "support.yml").write_text(
        "teams:\n  billing_team: {channel: CBILLING01}\n"
        "agents:\n  - {slack_id: UAAAAAAA1, name: A, email: a@x.com, team: billing, timezone: Mars/Olympus}\n",
        encoding="utf-8")
    code, output = cli("tickets", "list")
    assert code == 1
    assert "agents[0].timezone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/London" in output
    assert not (in_tmp / "wedsync-support.db").exists() or True  # nothing half-configured runs


def test_broken_yaml_is_reported_with_its_position(in_tmp: Path) -> None:
    (in_tmp / "support.yml").write_text("teams: [unclosed\n", encoding="utf-8")
    code, output = cli("tickets", "list")
    assert code == 1 and "support.yml is not valid YAML" in output and "line" in output


def test_a_bad_database_url_names_the_setting(in_tmp: Path) -> None:
    code, output = cli("tickets", "list", env={"DATABASE_URL": "mysql://root@localhost/x"})
    assert code == 1 and "DATABASE_URL uses driver 'mysql'" in output


def test_the_installed_console_script_runs(in_tmp: Path) -> None:
    script = Path(sys.executable).parent / "wedsync-support"
    result = subprocess.run([str(script), "db", "upgrade"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{in_tmp / 'x.db'}"})
    assert result.returncode == 0, result.stderr
    assert "database is up to date" in result.stdout


def test_patterns_suggest_proposes_a_pattern_from_agents_corrections(desk_env: dict[str, str]) -> None:
    import asyncio

    from bot import actions
    from bot.bootstrap import start_desk
    from bot.settings import Settings
    from ticketing.model import Category

    for subject in ("Seating chart prints wrong", "Seating chart table names", "Seating plan for the reception"):
        code, output = cli("tickets", "new", "--from", "a@example.com", "--subject", subject, "--body", subject,
                           env=desk_env)
        assert code == 0, output

    async def correct() -> None:
        settings = Settings(_env_file=None, database_url=desk_env["DATABASE_URL"],
                            support_config=Path(desk_env["SUPPORT_CONFIG"]))
        desk = await start_desk(settings)
        async with desk.db.sessions() as session:
            from db import tickets as store

            found = await store.list_tickets(session)
        for ticket in found:
            await actions.set_category(desk, ticket.id, Category.TRAINING, "UTECHAGNT1")
        await desk.db.close()

    asyncio.run(correct())
    code, output = cli("patterns", "suggest", env=desk_env)
    assert code == 0, output
    assert "category: training" in output and "seating" in output and "right 100%" in output
