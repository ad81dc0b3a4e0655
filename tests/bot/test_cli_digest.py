"""`wedsync-support report digest`: today's digest through the same claim and outbox as `serve`'s job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from db.session import open_database
from db.tables import DigestRunRow, OutboxRow
from tests.bot.test_cli import cli
from tests.bot.test_sla_ticker import support_data, write_support


def test_report_digest_now_writes_todays_digest_once_per_channel(in_tmp: Path, database_url: str) -> None:
    data = support_data(digest={"every_team": False, "teams": {"billing_team": {}},
                                "managers": {"channel": "CMANAGERS1"}})
    env = {"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(write_support(in_tmp / "support.yml", data))}
    code, output = cli("report", "digest", "--now", "--channel", "CBILLING01", env=env)
    assert code == 0 and "CBILLING01 (Billing team" in output and "written to the outbox" in output, output
    code, output = cli("report", "digest", "--now", env=env)
    assert code == 0, output
    assert "CBILLING01 (Billing team" in output and "already sent today" in output
    assert "CMANAGERS1 (All teams" in output and "written to the outbox" in output

    async def stored() -> tuple[list[str], list[str]]:
        db = open_database(database_url)
        try:
            async with db.sessions() as session:
                runs = list((await session.execute(select(DigestRunRow.channel).order_by(DigestRunRow.id))).scalars())
                ops = [p["op"] for p in (await session.execute(select(OutboxRow.payload))).scalars()]
                return runs, ops
        finally:
            await db.close()

    assert asyncio.run(stored()) == (["CBILLING01", "CMANAGERS1"], ["digest", "digest"])
    code, output = cli("report", "digest", "--channel", "CNOPE00001", env=env)
    assert code == 1 and "--channel 'CNOPE00001' gets no digest" in output and "CBILLING01" in output


def test_report_digest_without_a_digest_section_says_how_to_add_one(in_tmp: Path, database_url: str,
                                                                    support_yml: Path) -> None:
    code, output = cli("report", "digest", env={"DATABASE_URL": database_url, "SUPPORT_CONFIG": str(support_yml)})
    assert code == 1 and "no `digest:` section" in output
