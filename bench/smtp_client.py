"""The SMTP client of the ingestion benchmark, run as its own process so that it does not share a CPU core's
interpreter (the GIL) with the desk it measures.

``python -m bench.smtp_client --port P --dir DIR [--connections 8]``: loads ``DIR/*.eml`` (sorted), opens the
connections (EHLO done), prints ``ready`` and waits for a line on stdin; then sends every message, in order,
over the connections at once: each connection takes the next message as soon as its previous one got its
250. A reply waits until the message it answers (when that is in DIR too) got its 250, as a customer's reply
comes after the desk accepted the mail it follows up; otherwise one connection whose store is slow would let
replies overtake the mails they thread to. At the end it prints one JSON object: ``started`` (wall-clock
seconds when the first send began) and, per message in file order, ``[sent, acked]`` wall-clock seconds
(``acked`` is ``datetime.now(UTC)`` when ``sendmail`` returned, i.e. after the 250 that ends DATA), or
``[sent, null]`` with its error in ``errors``.
Wall-clock UTC on both sides is what makes the desk's ``handled_at`` comparable with ``acked``.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import sys
import threading
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

ENVELOPE_FROM = "bench@client.invalid"
SUPPORT_ADDRESS = "support@wedsync.com"


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _ids(value: str | None) -> list[str]:
    return [part.strip("<>") for part in (value or "").split() if part.startswith("<")]


def dependencies(messages: list[bytes]) -> list[list[int]]:
    """For each message, the earlier messages of the list that its In-Reply-To/References name."""
    parser = BytesHeaderParser(policy=compat32)
    index: dict[str, int] = {}
    out: list[list[int]] = []
    for position, raw in enumerate(messages):
        headers = parser.parsebytes(raw)
        named = _ids(headers.get("In-Reply-To")) + _ids(headers.get("References"))
        out.append(sorted({index[i] for i in named if i in index}))
        for own in _ids(headers.get("Message-ID")):
            index[own] = position
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.smtp_client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--to", default=SUPPORT_ADDRESS)
    args = parser.parse_args()

    messages = [path.read_bytes() for path in sorted(args.dir.glob("*.eml"))]
    times: list[list[float | None]] = [[None, None] for _ in messages]
    errors: dict[int, str] = {}
    waits_for = dependencies(messages)
    done = [False] * len(messages)
    lock = threading.Condition()
    cursor = iter(range(len(messages)))

    def connect() -> smtplib.SMTP:
        client = smtplib.SMTP(args.host, args.port, local_hostname="bench-client.invalid", timeout=600)
        client.ehlo()
        return client

    clients = [connect() for _ in range(max(1, min(args.connections, len(messages))))]

    def work(client: smtplib.SMTP | None) -> None:
        while True:
            with lock:
                index = next(cursor, None)
                while index is not None and not all(done[i] for i in waits_for[index]):
                    lock.wait()
            if index is None:
                break
            times[index][0] = _now()
            try:
                client.sendmail(ENVELOPE_FROM, [args.to], messages[index])
                times[index][1] = _now()
            except (smtplib.SMTPException, OSError) as error:
                errors[index] = f"{type(error).__name__}: {error}"
                try:
                    client.close()
                    client = connect()
                except OSError:
                    client = None
            with lock:
                done[index] = True
                lock.notify_all()
            if client is None:
                return
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    print("ready", flush=True)
    sys.stdin.readline()
    started = _now()
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump({"started": started, "times": times, "errors": {str(k): v for k, v in errors.items()}}, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
