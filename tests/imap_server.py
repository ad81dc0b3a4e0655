"""A real Dovecot IMAP server on loopback for tests, plus the helpers to talk to it.

Each `DovecotServer` has its own temp directory (config, base_dir, state_dir, log, Maildir),
its own free port on 127.0.0.1 and one test user from a passwd-file with a PLAIN password.
Dovecot runs in the foreground (`dovecot -F -c <config>`) as a child of the test process, as
root (mail processes then run as `nobody`, Dovecot refuses UID 0 for mail) or unprivileged
(everything runs as the current user). `stop()` and `start()` keep the port and the mail, so a
test can take the server away under a client and bring it back.

Fixtures: `dovecot` (full capabilities, IDLE and MOVE included) and `dovecot_minimal` (IMAP4rev1
without IDLE, MOVE or UIDPLUS: the poller must poll and COPY + \\Deleted + EXPUNGE). A test
module brings them in by importing the functions, which are named apart from the fixtures so
test arguments don't shadow an import:
`from tests.imap_server import dovecot_fixture, dovecot_minimal_fixture  # noqa: F401`.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
USER = "support@desk.test"
PASSWORD = "imap-test-password"

# Dovecot 2.3's post-login capabilities less IDLE, MOVE and UIDPLUS (and the extensions that
# imply them), for the polling / COPY fallback tests.
MINIMAL_CAPABILITIES = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE UNSELECT CHILDREN"

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 10.0


def dovecot_missing_reason() -> str | None:
    """Why the Dovecot tests cannot run here, or None when they can."""
    if not DOVECOT.exists():
        return f"{DOVECOT} is missing: run .ci/install-dovecot.sh (installs dovecot-imapd)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _accounts() -> tuple[str, str, int, int]:
    """(login/internal user, group, mail uid, mail gid) for the current privileges."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "", "", nobody.pw_uid, nobody.pw_gid
    me = pwd.getpwuid(os.geteuid())
    return me.pw_name, grp.getgrgid(me.pw_gid).gr_name, me.pw_uid, me.pw_gid


def render_config(root: Path, port: int, capabilities: str | None) -> str:
    user, group, uid, gid = _accounts()
    lines = [
        f"base_dir = {root}/run",
        f"state_dir = {root}/state",
        f"instance_name = dovecot-test-{port}",
        f"log_path = {root}/dovecot.log",
        "protocols = imap",
        f"listen = {HOST}",
        "ssl = no",
        "disable_plaintext_auth = no",
        "auth_mechanisms = plain login",
        f"mail_location = maildir:{root}/mail/%u",
        f"mail_uid = {uid}",
        f"mail_gid = {gid}",
        "first_valid_uid = 1",
        "first_valid_gid = 1",
        "mail_fsync = never",
        "shutdown_clients = yes",
        "namespace inbox {\n  inbox = yes\n  separator = /\n}",
        f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {root}/users\n}}",
        f"userdb {{\n  driver = static\n  args = home={root}/mail/%u\n}}",
        "service imap-login {\n  chroot =\n"
        f"  inet_listener imap {{\n    address = {HOST}\n    port = {port}\n  }}\n"
        "  inet_listener imaps {\n    port = 0\n  }\n}",
        "service anvil {\n  chroot =\n}",
    ]
    if capabilities is not None:
        lines.append(f"imap_capability = {capabilities}")
    if user:  # unprivileged: every service runs as us, nothing chroots
        lines += [
            f"default_internal_user = {user}",
            f"default_internal_group = {group}",
            f"default_login_user = {user}",
            "service auth-worker {\n  user = $default_internal_user\n}",
        ]
    return "\n".join(lines) + "\n"


class DovecotServer:
    """One Dovecot instance on 127.0.0.1 with one test user; start/stop keep port and mail."""

    def __init__(self, capabilities: str | None = None) -> None:
        self.host = HOST
        self.user = USER
        self.password = PASSWORD
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        self.root.chmod(0o711)  # mail processes (nobody) must traverse to their Maildir
        self.config = self.root / "dovecot.conf"
        self._proc: subprocess.Popen[bytes] | None = None
        _, _, uid, gid = _accounts()
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", uid, gid)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.config.write_text(render_config(self.root, self.port, capabilities))

    # --- process ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        with open(self.root / "stderr.log", "ab") as stderr:
            self._proc = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group: stop() can end every child
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"dovecot exited with {self._proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.05)  # waiting for the port to open, not timing anything
        raise RuntimeError(f"dovecot did not accept connections on {self.port}:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the master, then SIGKILL whatever of its process group is left.

        Dovecot's imap processes outlive their master by ~10 s (then send BYE); ending them with
        it makes every client connection drop at once, as when the server goes away for real.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group at once: the server vanishes mid-conversation."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(_STOP_TIMEOUT)

    def close(self) -> None:
        """Kill the server (its mail is thrown away anyway) and remove its directory."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        """Dovecot's own log (logins, logouts, errors) so far."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        stderr = self.root / "stderr.log"
        text = (stderr.read_text(errors="replace") if stderr.exists() else "") + self.log_text()
        return "\n".join(text.splitlines()[-lines:])

    # --- client side -----------------------------------------------------------------------

    @contextlib.contextmanager
    def client(self, folder: str | None = None) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient (UIDs), with `folder` selected when given."""
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            imap.login(self.user, self.password)
            if folder is not None:
                imap.select_folder(folder)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, folder: str, raw: bytes) -> int:
        """APPEND one message and return its UID (the highest in the folder right after)."""
        with self.client() as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            imap.append(folder, raw)
            imap.select_folder(folder, readonly=True)
            return int(max(imap.search("ALL")))

    def append_many(self, folder: str, messages: list[bytes]) -> None:
        with self.client() as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            for raw in messages:
                imap.append(folder, raw)

    def flags(self, folder: str) -> dict[int, set[bytes]]:
        """UID -> flags for every message in `folder` (read-only select, changes nothing)."""
        with self.client() as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            if not uids:
                return {}
            return {uid: set(flags) for uid, flags in imap.get_flags(uids).items()}

    def uidvalidity(self, folder: str) -> int:
        with self.client() as imap:
            return int(imap.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_folder(self, folder: str) -> None:
        """Delete and create `folder` again: it comes back empty with a new UIDVALIDITY."""
        with self.client() as imap:
            imap.delete_folder(folder)
            imap.create_folder(folder)


def make_message(n: int, subject: str | None = None) -> bytes:
    """A small RFC 5322 message with a unique, predictable Message-ID."""
    return (
        f"From: Customer {n} <customer{n}@example.com>\r\n"
        f"To: support@desk.test\r\n"
        f"Subject: {subject or f'Help request {n}'}\r\n"
        f"Message-ID: <msg-{n}@example.com>\r\n"
        f"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
        f"\r\n"
        f"Body of message {n}.\r\n"
    ).encode()


def _server(capabilities: str | None) -> Iterator[DovecotServer]:
    reason = dovecot_missing_reason()
    if reason:
        pytest.skip(reason)
    server = DovecotServer(capabilities)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[DovecotServer]:
    """A fresh Dovecot with IDLE and MOVE on its own port and empty mailbox."""
    yield from _server(None)


@pytest.fixture(name="dovecot_minimal")
def dovecot_minimal_fixture() -> Iterator[DovecotServer]:
    """A fresh Dovecot advertising neither IDLE, MOVE nor UIDPLUS."""
    yield from _server(MINIMAL_CAPABILITIES)
