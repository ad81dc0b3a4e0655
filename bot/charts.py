"""The reports' charts, drawn by matplotlib: SVG for the dashboard page, PNG for the Slack digest's image.

    volume_chart(dashboard.volume, "svg")          # created and resolved per day
    categories_chart(dashboard.categories, "png")  # tickets per category, most first
    backlog_chart(dashboard.backlog, "svg")        # open tickets by age

matplotlib, not a hand-written SVG writer: axes, ticks, date labels and anti-aliased PNGs are a solved problem, it
needs no browser and no network (the page must work offline, so no charting script from a CDN), and the same code
draws the page's SVG and the digest's PNG. Only the object API is used (`Figure` with its own Agg canvas), never
pyplot's global state, so two charts drawn at once in different threads do not share a figure.

A chart is a pure function of its values, so drawn charts are kept in a small cache: the dashboard asks for the same
chart on every reload until a number changes. SVG text stays text (`svg.fonttype: none`) so the page's font draws it
and a screen reader or a test can read it, and the SVG's ids are salted with a fixed string so the same values give
the same bytes.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; no display here or on a server

from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ticketing.reports import BacklogBucket, CategoryCount, VolumePoint

Format = Literal["svg", "png"]

CREATED = "#0a58ca"
RESOLVED = "#198754"
BARS = "#6f42c1"
INK = "#1c1c1e"
GRID = "#d9d9d9"
_RC: Any = {  # Any: matplotlib types rc keys as one long Literal
    "svg.fonttype": "none",
    "svg.hashsalt": "wedsync-support",
    "font.family": ["DejaVu Sans"],
    "font.size": 10,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_CACHE_SIZE = 64
_PNG_DPI = 144  # the digest's image is seen on phones and high-density screens


def _render(figure: Figure, fmt: Format) -> bytes:
    out = io.BytesIO()
    # metadata None: no creation date or version in the file, so the same values give the same bytes
    metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
    figure.savefig(out, format=fmt, dpi=_PNG_DPI if fmt == "png" else 72, metadata=metadata)
    return out.getvalue()


def _figure(width: float, height: float, left: float = 0.08) -> Figure:
    """Fixed margins, not matplotlib's constrained layout: that measures every label twice and was about 40% of a
    chart's time; the labels here are short and known."""
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=left, right=0.98, top=1 - 0.4 / height, bottom=0.55 / height)  # margins in inches
    return figure


def _empty(figure: Figure, text: str) -> None:
    axes = figure.add_subplot()
    axes.axis("off")
    axes.text(0.5, 0.5, text, ha="center", va="center", color=INK)


def volume_chart(points: Sequence[VolumePoint], fmt: Format) -> bytes:
    """Created and resolved tickets per day, as two lines."""
    return _volume(tuple(points), fmt)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _volume(points: tuple[VolumePoint, ...], fmt: Format) -> bytes:
    with matplotlib.rc_context(_RC):
        figure = _figure(8, 3)
        if not points:
            _empty(figure, "No tickets in this period")
            return _render(figure, fmt)
        axes = figure.add_subplot()
        days: Any = [p.day for p in points]  # matplotlib converts dates itself; its types say numbers
        marker = "o" if len(points) <= 31 else None
        axes.plot(days, [p.created for p in points], color=CREATED, marker=marker, markersize=3, label="Created")
        axes.plot(days, [p.resolved for p in points], color=RESOLVED, marker=marker, markersize=3, label="Resolved")
        axes.set_ylabel("Tickets per day")
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", color=GRID, linewidth=0.8)
        axes.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncols=2, borderaxespad=0.2)
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        return _render(figure, fmt)


def categories_chart(counts: Sequence[CategoryCount], fmt: Format) -> bytes:
    """Tickets per category as horizontal bars, the largest on top."""
    return _categories(tuple(counts), fmt)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _categories(counts: tuple[CategoryCount, ...], fmt: Format) -> bytes:
    with matplotlib.rc_context(_RC):
        shown = sorted(counts, key=lambda c: (-c.count, c.category))
        figure = _figure(6, max(1.6, 0.32 * len(shown) + 0.6), left=0.26)
        if not shown:
            _empty(figure, "No tickets in this period")
            return _render(figure, fmt)
        axes = figure.add_subplot()
        labels = [c.category.replace("_", " ") for c in reversed(shown)]
        values = [c.count for c in reversed(shown)]
        bars = axes.barh(labels, values, color=BARS)
        axes.bar_label(bars, padding=3, color=INK)
        axes.set_xlabel("Tickets")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.margins(x=0.12)
        return _render(figure, fmt)


def backlog_chart(buckets: Sequence[BacklogBucket], fmt: Format) -> bytes:
    """Open tickets by age, in the buckets' own order (youngest first)."""
    return _backlog(tuple(buckets), fmt)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _backlog(buckets: tuple[BacklogBucket, ...], fmt: Format) -> bytes:
    with matplotlib.rc_context(_RC):
        figure = _figure(6, 2.6)
        if not buckets or not any(b.count for b in buckets):
            _empty(figure, "No open tickets")
            return _render(figure, fmt)
        axes = figure.add_subplot()
        bars = axes.bar([b.label for b in buckets], [b.count for b in buckets], color=CREATED)
        axes.bar_label(bars, padding=2, color=INK)
        axes.set_ylabel("Open tickets")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.margins(y=0.15)
        return _render(figure, fmt)
