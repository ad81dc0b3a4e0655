"""Parser scaling: does ``parse_email`` / ``strip_quotes`` stay linear in the size of its input?

    .venv/bin/python -m bench.bench_parse [--size 65536] [--factor 4]

Each case is built at size S and at 4S (``--factor``): a big plain-text body, a long Gmail-style quote chain
(``>``, ``>>``, ... with an "On ... wrote:" line per level), a long Outlook-style chain (unprefixed history
under "From: / Sent: / To: / Subject:" blocks), a big HTML-only body (the html2text path; 4S stays under
its 1 MiB switch to the crude tag stripper unless you raise --size) and a multipart/mixed of many text and
HTML parts (every part kept, each HTML part converted on its own). Each is timed best-of-N, and the report is
the time ratio for the 4x input: about 4 means linear, about 16 quadratic. The exponent column is
log(time ratio) / log(size ratio): 1 linear, 2 quadratic.

The baseline, measured in the same run on the same inputs, is a plainly linear pass (decode the bytes and
split them into lines): its ratio shows what "linear" looks like on this machine right now (caches, noise).
Nothing is asserted; numbers also go to ``bench/out/parse.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from channels.email.parse import parse_email, strip_quotes

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "parse.json"

WORDS = ("the form", "won't save", "my couples", "guest list", "CSV import", "payment", "again", "please",
         "wedding", "Saturday", "timeline", "venue", "photographer", "invoice", "thanks", "still", "broken",
         "dashboard", "slow", "today", "I tried", "clearing the cache", "and", "but", "nothing", "changed")


def _sentence(rng: random.Random) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
    return words[0].upper() + words[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _mail(body: bytes, content_type: str = "text/plain; charset=utf-8", extra: str = "") -> bytes:
    head = ("From: Jess Patel <jess@bloomandvine.co.uk>\r\nTo: WedSync Support <support@wedsync.com>\r\n"
            "Subject: Re: Forms not saving\r\nDate: Fri, 20 Nov 2026 11:03:27 +0000\r\n"
            "Message-ID: <scaling.bench@bloomandvine.co.uk>\r\nMIME-Version: 1.0\r\n"
            f"{extra}Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode() + body


def plain_body(size: int) -> bytes:
    rng = random.Random(1)
    parts: list[str] = []
    total = 0
    while total < size:
        paragraph = _paragraph(rng)
        parts.append(paragraph)
        total += len(paragraph) + 2
    return _mail("\r\n\r\n".join(parts).encode())


def gmail_chain(size: int) -> bytes:
    """Level after level of replies, each quoting the whole history one ``>`` deeper."""
    rng = random.Random(2)
    when = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    text = _paragraph(rng)
    while len(text) < size:
        when += timedelta(hours=5)
        quoted = "\n".join(f"> {line}" if line and not line.startswith(">") else f">{line}" for line in
                           text.split("\n"))
        who = rng.choice(("Jess Patel <jess@bloomandvine.co.uk>", "WedSync Support <support@wedsync.com>"))
        text = f"{_paragraph(rng)}\n\nOn {format_datetime(when)}, {who} wrote:\n\n{quoted}"
    return _mail(text.replace("\n", "\r\n").encode())


def outlook_chain(size: int) -> bytes:
    """Outlook's unprefixed history: each reply above a From/Sent/To/Subject block and the whole thread."""
    rng = random.Random(3)
    when = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    text = _paragraph(rng)
    while len(text) < size:
        when += timedelta(hours=5)
        block = (f"________________________________\nFrom: Jess Patel <jess@bloomandvine.co.uk>\n"
                 f"Sent: {when:%A, %d %B %Y %H:%M}\nTo: WedSync Support <support@wedsync.com>\n"
                 "Subject: RE: Forms not saving")
        text = f"{_paragraph(rng)}\n\nKind regards,\nJess\n\n{block}\n\n{text}"
    return _mail(text.replace("\n", "\r\n").encode())


def html_body(size: int) -> bytes:
    rng = random.Random(4)
    parts = ["<html><head><style>p{margin:0}</style></head><body><div class=WordSection1>"]
    total = len(parts[0])
    while total < size:
        if rng.random() < 0.2:
            rows = "".join(f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(1, 400)}</td></tr>" for _ in range(4))
            chunk = f"<table border=1>{rows}</table>"
        else:
            chunk = f"<p class=MsoNormal><span style='font-size:11pt'>{_paragraph(rng)}</span><o:p></o:p></p>\n"
        parts.append(chunk)
        total += len(chunk)
    parts.append("</div></body></html>")
    return _mail("".join(parts).encode(), "text/html; charset=utf-8")


def mixed_parts(size: int) -> bytes:
    """multipart/mixed with text/plain and text/html parts in turn (not alternatives: every one is kept)."""
    rng = random.Random(5)
    chunks: list[str] = []
    total = 0
    while total < size:
        text = _paragraph(rng)
        if len(chunks) % 2:
            chunks.append(f"--mixed\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>{text}</p>\r\n")
        else:
            chunks.append(f"--mixed\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n")
        total += len(chunks[-1])
    body = "".join(chunks) + "--mixed--\r\n"
    return _mail(body.encode(), 'multipart/mixed; boundary="mixed"')


CASES: dict[str, Callable[[int], bytes]] = {
    "big plain body": plain_body,
    "long quote chain (Gmail >)": gmail_chain,
    "long quote chain (Outlook)": outlook_chain,
    "big HTML body": html_body,
    "mixed text + HTML parts": mixed_parts,
}


def best_of(work: Callable[[], object], min_repeats: int = 3, min_seconds: float = 0.3) -> float:
    """The fastest of several runs: at least `min_repeats`, and at least `min_seconds` in all."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - started < min_seconds:
        begin = time.perf_counter()
        work()
        times.append(time.perf_counter() - begin)
        if len(times) >= 200:
            break
    return min(times)


@dataclass
class Row:
    case: str
    what: str
    small_bytes: int
    large_bytes: int
    small_s: float
    large_s: float

    @property
    def ratio(self) -> float:
        return self.large_s / self.small_s if self.small_s else float("nan")

    @property
    def exponent(self) -> float:
        sizes = self.large_bytes / self.small_bytes
        return math.log(self.ratio) / math.log(sizes) if self.ratio > 0 and sizes > 1 else float("nan")


def _linear(raw: bytes) -> object:
    return raw.decode("latin-1").splitlines()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_parse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64 * 1024, help="S in bytes (default 65536)")
    parser.add_argument("--factor", type=int, default=4, help="the larger input is factor x S (default 4)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    rows: list[Row] = []
    for case, build in CASES.items():
        small, large = build(args.size), build(args.size * args.factor)
        small_text, large_text = parse_email(small).text, parse_email(large).text
        rows.append(Row(case, "baseline (decode + split lines)", len(small), len(large),
                        best_of(lambda raw=small: _linear(raw)), best_of(lambda raw=large: _linear(raw))))
        rows.append(Row(case, "parse_email", len(small), len(large),
                        best_of(lambda raw=small: parse_email(raw)), best_of(lambda raw=large: parse_email(raw))))
        rows.append(Row(case, "strip_quotes", len(small_text), len(large_text),
                        best_of(lambda text=small_text: strip_quotes(text)),
                        best_of(lambda text=large_text: strip_quotes(text))))
        print(f"  {case}: done", flush=True)

    print(f"\nscaling, S = {args.size:,} bytes and {args.factor}S; ratio = time({args.factor}S) / time(S): "
          f"~{args.factor} linear, ~{args.factor ** 2} quadratic\n")
    big = f"{args.factor}S"
    print(f"{'case':28}{'function':33}{'S bytes':>9}{big + ' bytes':>10}{'t(S) ms':>9}{'t(' + big + ') ms':>10}"
          f"{'ratio':>7}{'exp':>6}")
    for row in rows:
        print(f"{row.case:28}{row.what:33}{row.small_bytes:>9,}{row.large_bytes:>10,}{row.small_s * 1000:>9.2f}"
              f"{row.large_s * 1000:>10.2f}{row.ratio:>7.1f}{row.exponent:>6.2f}")
    suspicious = [r for r in rows if not r.what.startswith("baseline") and r.exponent > 1.3]
    baseline = [r.exponent for r in rows if r.what.startswith("baseline")]
    print(f"\nbaseline exponent {min(baseline):.2f}..{max(baseline):.2f}; "
          + ("super-linear: " + ", ".join(f"{r.what} on {r.case} ({r.exponent:.2f})" for r in suspicious)
             if suspicious else "every parser case within 1.3 (linear)"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "size": args.size, "factor": args.factor,
        "rows": [{"case": r.case, "function": r.what, "small_bytes": r.small_bytes, "large_bytes": r.large_bytes,
                  "small_s": r.small_s, "large_s": r.large_s, "ratio": r.ratio, "exponent": r.exponent}
                 for r in rows],
    }, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
