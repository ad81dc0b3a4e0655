"""The charts are real matplotlib drawings of the values they are given: SVG with readable text, PNG images, the
same bytes for the same values, and a clear picture when there is nothing to draw."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from bot.charts import backlog_chart, categories_chart, volume_chart
from ticketing.reports import BacklogBucket, CategoryCount, VolumePoint

PNG = b"\x89PNG\r\n\x1a\n"


def _points(days: int, bump: int = 0) -> list[VolumePoint]:
    return [VolumePoint(date(2026, 11, 1) + timedelta(days=i), i % 4 + bump, i % 3) for i in range(days)]


def test_volume_svg_names_both_series_and_is_repeatable() -> None:
    svg = volume_chart(_points(30), "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Created" in svg and "Resolved" in svg and "Tickets per day" in svg
    assert volume_chart(_points(30), "svg") == svg.encode()
    assert volume_chart(_points(30, bump=5), "svg") != svg.encode()  # other values, another drawing


def test_volume_line_follows_the_values() -> None:
    """The created line of a rising series climbs: its path's y values (SVG y grows downwards) fall."""
    points = [VolumePoint(date(2026, 11, 1) + timedelta(days=i), i, 0) for i in range(10)]
    svg = volume_chart(points, "svg").decode()
    paths = re.findall(r'<path d="(M [^"]+)"[^>]*style="[^"]*stroke: #0a58ca', svg)
    assert paths, "no line drawn in the created colour"
    ys = [float(y) for y in re.findall(r"[ML] [\d.]+ ([\d.]+)", max(paths, key=len))]
    assert len(ys) >= 10 and ys == sorted(ys, reverse=True)


def test_png_is_an_image() -> None:
    assert volume_chart(_points(7), "png").startswith(PNG)
    assert categories_chart([CategoryCount("billing", 3)], "png").startswith(PNG)


def test_categories_largest_first_with_labels() -> None:
    svg = categories_chart([CategoryCount("security", 2), CategoryCount("feature_help", 9)], "svg").decode()
    labels = {text: float(y) for y, text in re.findall(r'<text[^>]* y="([\d.]+)"[^>]*>([^<]+)</text>', svg)}
    assert labels["feature help"] < labels["security"]  # higher on the page: the larger bar on top
    assert "9" in labels and "2" in labels  # each bar carries its count


@pytest.mark.parametrize("draw", [
    lambda: volume_chart([], "svg"),
    lambda: categories_chart([], "svg"),
    lambda: backlog_chart([BacklogBucket("< 1 day", 0)], "svg"),
])
def test_nothing_to_draw_says_so(draw: object) -> None:
    svg = draw().decode()  # type: ignore[operator]
    assert "No tickets in this period" in svg or "No open tickets" in svg
