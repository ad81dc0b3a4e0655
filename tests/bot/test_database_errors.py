"""Issue 12.4: a database the desk cannot use is one line (what failed, DATABASE_URL with its password masked,
the fix), not a driver's traceback; a missing SQLite folder is refused, not created. Against the real
PostgreSQL on 127.0.0.1:5432 and a port where nothing listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

CLI = Path(sys.executable).parent / "wedsync-support"
PASSWORD = "pw-Hx81q"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: nothing listens there


def run_cli(in_tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "80"}
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60, env=env, cwd=in_tmp)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and PASSWORD not in lines[0]
    return lines[0]


def base_of(postgres_url: str) -> tuple[str, str]:
    """host:port and the user of the test server's URL."""
    rest = postgres_url.split("://", 1)[1].rsplit("/", 1)[0]
    user, _, host = rest.rpartition("@")
    return host, user.split(":")[0] or "postgres"


def test_an_unknown_role_is_one_line_naming_the_role_and_the_fix(in_tmp: Path, postgres_url: str) -> None:
    host, _user = base_of(postgres_url)
    line = one_line(run_cli(in_tmp, f"postgresql+asyncpg://nosuchrole:{PASSWORD}@{host}/test", "tickets", "list"))
    assert f"(postgresql+asyncpg://nosuchrole:***@{host}/test)" in line
    assert "role 'nosuchrole' may not log in" in line and "createuser nosuchrole" in line


def test_a_missing_database_is_one_line_naming_it_and_how_to_create_it(in_tmp: Path, postgres_url: str) -> None:
    host, user = base_of(postgres_url)
    line = one_line(run_cli(in_tmp, f"postgresql+asyncpg://{user}:{PASSWORD}@{host}/no_such_desk", "db", "upgrade"))
    assert "database 'no_such_desk' does not exist" in line and f"createdb -O {user} no_such_desk" in line


def test_a_closed_port_is_one_line_even_from_serve(in_tmp: Path) -> None:
    port = closed_port()
    line = one_line(run_cli(in_tmp, f"postgresql+asyncpg://support:{PASSWORD}@127.0.0.1:{port}/desk", "serve"))
    assert f"nothing answers on 127.0.0.1:{port}" in line and "start PostgreSQL" in line


def test_an_unknown_host_is_one_line() -> None:
    result = CliRunner().invoke(app, ["tickets", "list"], env={
        "DATABASE_URL": f"postgresql+asyncpg://support:{PASSWORD}@no-such-host.invalid/desk"})
    assert result.exit_code == 1
    assert "unknown host 'no-such-host.invalid'; fix the host in DATABASE_URL" in result.output
    assert PASSWORD not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_missing_sqlite_folder_is_refused_with_the_fix_and_not_created(in_tmp: Path) -> None:
    folder = in_tmp / "no" / "such" / "folder"
    line = one_line(run_cli(in_tmp, f"sqlite+aiosqlite:///{folder}/desk.db", "tickets", "list"))
    assert f"the folder {folder} does not exist; create it (mkdir -p {folder})" in line
    assert not (in_tmp / "no").exists()


def test_an_unparseable_url_does_not_echo_it(in_tmp: Path) -> None:
    result = CliRunner().invoke(app, ["tickets", "list"], env={"DATABASE_URL": f"::{PASSWORD}::"})
    assert result.exit_code == 1 and "DATABASE_URL is not a database URL" in result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///./desk.db", "sqlite+aiosqlite:///desk.db"])
def test_an_sqlite_file_in_the_current_folder_still_just_works(in_tmp: Path, url: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (in_tmp / "desk.db").exists()
