"""The support dashboard on the desk's HTTP server: the reports (db/reports.py) as one page for the leads.

    GET  /dashboard?days=7|30|90&team=NAME       the page (summary cards, tables, the charts as images)
    GET  /dashboard/charts/{volume,categories,backlog}.svg?days=&team=
    GET  /dashboard/login/{token}                a one-use link from Slack: starts a session, 303 to the page
    POST /dashboard/logout                       ends it (same-origin only)
    GET  /dashboard/static/dashboard.css         the page's style sheet, from the package (no CDN)

Everything but the style sheet and the sign-in needs a live session of a person still in support.yml
(bot/dashboard_access.py); anyone else gets 403 and a page that names nothing of the desk's data.

No JavaScript: the period and team are a plain GET form. The page's CSP allows only its own style sheet and its
own images (`default-src 'none'; style-src 'self'; img-src 'self'`), and every value is HTML-escaped.

The charts are separate image URLs, not inlined: matplotlib's SVG carries inline `style` attributes and a
`<style>` element, which that CSP forbids inside the page (and `data:` images too); as `<img>` they are
documents of their own. It also keeps the page fast: a fresh chart takes 100-200 ms to draw, so three inline
charts would put a changed page over the 300 ms target, while the page's HTML is sent as soon as the numbers are
ready and the browser fetches the charts in parallel (bench/bench_dashboard.py measures both). A chart request
reuses the numbers its page computed a moment before (`_Boards`, a few seconds per period and team) and draws in a
thread, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from importlib import resources
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot import charts
from bot.dashboard_access import (
    COOKIE,
    LINK_LIFETIME,
    PATH,
    SESSION_LIFETIME,
    end_session,
    person_name,
    session_person,
    start_session,
)
from bot.desk import Desk
from db import reports as report_store
from ticketing.reports import PRIORITIES, AgentRow, Better, Dashboard, Figure, Spread, Summary

log = logging.getLogger(__name__)

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
BOARD_SECONDS = 30.0  # how long a chart request may reuse the numbers of the page it belongs to
MAX_TREND_IDS = 12
CHARTS: dict[str, Callable[[Dashboard], bytes]] = {
    "volume": lambda board: charts.volume_chart(board.volume, "svg"),
    "categories": lambda board: charts.categories_chart(board.categories, "svg"),
    "backlog": lambda board: charts.backlog_chart(board.backlog, "svg"),
}
_CSS = resources.files("bot").joinpath("dashboard_static/dashboard.css").read_bytes()
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PAGE_HEADERS = {
    **_SECURITY,
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}
# A chart is its own document (an <img>): matplotlib's inline styles apply inside it, nothing else loads.
CHART_HEADERS = {
    **_SECURITY,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Cache-Control": "private, max-age=60",
    "Vary": "Cookie",
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# -- numbers as text -----------------------------------------------------------------------------------------


def number(value: float, digits: int = 1) -> str:
    """`25`, `1.4`, `1,234`: `digits` decimals, none when the value is whole."""
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "%":
        return f"{number(value)}%"
    return f"{number(value, 2 if unit == 'tickets' else 1)} {unit}"


def _signed(value: float, unit: str) -> str:
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + amount(abs(value), unit).replace(" tickets", "")


# -- the page --------------------------------------------------------------------------------------------------


def _document(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex, nofollow"><title>{_e(title)}</title>'
            f'<link rel="stylesheet" href="{PATH}/static/dashboard.css"></head><body>{body}</body></html>')


def refused(status: int = 403) -> web.Response:
    """The page for anyone without a live session, or with a bad link: nothing of the desk's data."""
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    body = ('<main class="narrow"><h1>You cannot see this page</h1>'
            "<p>The support dashboard is for the people of the support desk. Open it from Slack: the "
            "<strong>Open dashboard</strong> button in the desk's App Home, or <code>/ticket dashboard</code>.</p>"
            f"<p>Each link works once, for {minutes} minutes, and only for the person it was made for.</p></main>")
    return web.Response(text=_document("Dashboard: not signed in", body), status=status, content_type="text/html",
                        charset="utf-8", headers=PAGE_HEADERS)


def _bad_request(text: str) -> web.Response:
    body = f'<main class="narrow"><h1>That view does not exist</h1><p>{_e(text)}</p>' \
           f'<p><a href="{PATH}">Back to the dashboard</a></p></main>'
    return web.Response(text=_document("Dashboard: bad request", body), status=400, content_type="text/html",
                        charset="utf-8", headers=PAGE_HEADERS)


def _status(figure: Figure) -> str:
    if figure.value is None:
        return '<span class="status none">No data</span>'
    return '<span class="status met">Met</span>' if figure.met else '<span class="status missed">Missed</span>'


def _change(figure: Figure, days: int) -> str:
    change = figure.change
    if change is None:
        return f"No figure for the previous {days} days"
    good = (change < 0) if figure.better is Better.LOWER else (change > 0)
    tone = "same" if change == 0 else ("good" if good else "bad")
    return (f'<span class="delta {tone}">{_e(_signed(change, figure.unit))}</span> vs previous {days} days '
            f"({_e(amount(figure.previous, figure.unit))})")


def _spread(spread: Spread, unit: str, what: str) -> str:
    if spread.count == 0:
        return ""
    return (f'<p class="spread">p50 {_e(amount(spread.p50, unit))} · p90 {_e(amount(spread.p90, unit))} · '
            f"{spread.count:,} {_e(what)}</p>")


def _card(key: str, title: str, figure: Figure, days: int, target: str, extra: str = "") -> str:
    state = "none" if figure.value is None else ("met" if figure.met else "missed")
    return (f'<article class="card {state}" id="card-{key}" aria-labelledby="card-{key}-title">'
            f'<h3 id="card-{key}-title">{_e(title)}</h3>'
            f'<p class="value">{_e(amount(figure.value, figure.unit))}</p>'
            f'<p class="target">Target {_e(target)} · {_status(figure)}</p>'
            f'<p class="change">{_change(figure, days)}</p>{extra}</article>')


def _open_card(summary: Summary, days: int) -> str:
    rows = "".join(
        f'<li><span class="priority {p}">{_e(p.capitalize())}</span> {summary.open_by_priority.get(p, 0):,}'
        f' <span class="was">(was {summary.open_previous_by_priority.get(p, 0):,})</span></li>' for p in PRIORITIES)
    change = summary.open_change
    tone = "same" if change == 0 else ("bad" if change > 0 else "good")
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return (f'<article class="card open" id="card-open" aria-labelledby="card-open-title">'
            f'<h3 id="card-open-title">Open tickets</h3><p class="value">{summary.open_total:,}</p>'
            f'<p class="change"><span class="delta {tone}">{sign}{abs(change):,}</span> since {days} days ago</p>'
            f'<ul class="priorities">{rows}</ul></article>')


def _cards(summary: Summary, days: int) -> str:
    s = summary
    return "".join((
        _open_card(s, days),
        _card("first-response", "Avg first response", s.first_response, days, "≤ 30 min",
              _spread(s.first_response_spread, "min", "answered")),
        _card("resolution", "Avg resolution", s.resolution, days, "≤ 8 h",
              _spread(s.resolution_spread, "h", "resolved")),
        _card("csat", "Customer satisfaction", s.csat, days, "≥ 90%"),
        _card("sla", "SLA compliance", s.sla_compliance, days, "≥ 95%"),
        _card("deflection", "Self-service deflection", s.deflection, days, "≥ 30%"),
        _card("escalation", "Escalation rate", s.escalation_rate, days, "≤ 10%"),
        _card("per-agent", "Resolved per agent per day", s.resolved_per_agent_day, days, "≥ 20"),
    ))


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], table_id: str,
           empty: str = "Nothing in this period.") -> str:
    """A table of already-escaped cells; the first cell of each row is its row header."""
    body = "".join("<tr>" + f'<th scope="row">{row[0]}</th>' + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>"
                   for row in rows)
    if not body:
        return f'<p class="empty" id="{table_id}">{_e(empty)}</p>'
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    return (f'<div class="scroll"><table id="{table_id}"><caption>{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _maybe(value: float | None, unit: str) -> str:
    return "–" if value is None else _e(amount(value, unit))


def _agent_rows(agents: Sequence[AgentRow], names: Callable[[str], str]) -> list[list[str]]:
    return [[_e(names(a.agent)), f"{a.assigned:,}", f"{a.resolved:,}", _maybe(a.median_first_response_minutes, "min"),
             _maybe(a.sla_met_percent, "%"), _maybe(a.csat_percent, "%")]
            for a in sorted(agents, key=lambda a: (-a.resolved, -a.assigned, names(a.agent)))]


def _trends(board: Dashboard) -> str:
    if not board.trends:
        return '<p class="empty" id="trends">No category or tag is well above its usual volume this week.</p>'
    items = []
    for trend in board.trends:
        kind, _, name = trend.key.partition(":")
        shown = ", ".join(f"<code>{_e(t)}</code>" for t in trend.ticket_ids[:MAX_TREND_IDS])
        more = len(trend.ticket_ids) - MAX_TREND_IDS
        items.append(f'<li><strong>{_e(kind.capitalize())} {_e(name.replace("_", " "))}</strong>: '
                     f"{trend.this_week:,} this week, usually {_e(number(trend.usual))} a week."
                     f' <span class="tickets">Tickets: {shown}{f" and {more:,} more" if more > 0 else ""}</span></li>')
    return f'<ul class="trends" id="trends">{"".join(items)}</ul>'


def _hours_note(desk: Desk) -> str:
    with_hours = [f"{_e(name)} {_e(team.hours)} {_e(team.timezone)}, {_e('–'.join((team.days[0], team.days[-1])))}"
                  for name, team in sorted(desk.config.teams.items()) if team.hours and team.days]
    where = ("Business hours: " + "; ".join(with_hours) + "; other teams around the clock."
             if with_hours else "Every team works around the clock, so times are plain elapsed time.")
    return (f'<p class="note" id="hours-note">Times are counted in business hours by each ticket\'s team, '
            f"with time waiting on the customer left out. {where} "
            "First response, SLA, deflection and escalation are of the tickets created in the period; resolution, "
            "CSAT and resolved per agent of those resolved in it.</p>")


def _filters(desk: Desk, days: int, team: str | None) -> str:
    periods = "".join(f'<option value="{d}"{" selected" if d == days else ""}>Last {d} days</option>'
                      for d in PERIODS)
    teams = "".join(f'<option value="{_e(name)}"{" selected" if name == team else ""}>'
                    f'{_e(name.replace("_", " "))}</option>' for name in sorted(desk.config.teams))
    return (f'<form class="filters" method="get" action="{PATH}" aria-label="Period and team">'
            f'<label for="days">Period</label><select id="days" name="days">{periods}</select>'
            f'<label for="team">Team</label><select id="team" name="team">'
            f'<option value=""{" selected" if team is None else ""}>All teams</option>{teams}</select>'
            '<button type="submit">Show</button></form>')


def _chart(name: str, query: str, alt: str, caption: str) -> str:
    return (f'<figure class="chart" id="chart-{name}"><img src="{PATH}/charts/{name}.svg?{_e(query)}" '
            f'alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>')


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC")


def render(desk: Desk, board: Dashboard, days: int, viewer: str) -> str:
    """The whole page for `board` (the last `days` days, `board.team` or every team), as `viewer` sees it."""
    config = desk.config
    team = board.team
    names: Callable[[str], str] = lambda slack_id: person_name(config, slack_id)  # noqa: E731
    query = urlencode({"days": days, "team": team or ""})
    created = sum(p.created for p in board.volume)
    resolved = sum(p.resolved for p in board.volume)
    open_now = sum(b.count for b in board.backlog)
    scope = f"team {team.replace('_', ' ')}" if team else "all teams"
    categories = [[_e(c.category.replace("_", " ")), f"{c.count:,}"]
                  for c in sorted(board.categories, key=lambda c: (-c.count, c.category))]
    daily = [[_e(r.day.isoformat()), f"{r.total:,}", f"{r.critical:,}", f"{r.resolved:,}",
              _maybe(r.avg_first_response_minutes, "min"), _maybe(r.avg_resolution_hours, "h"),
              f"{r.sla_breaches:,}", _maybe(r.resolution_rate, "%")] for r in board.daily]
    body = (
        '<header class="top"><div><h1>Support dashboard</h1>'
        f'<p class="scope" id="scope">{_e(config.company)} · last {days} days to {_e(_when(board.period.end))} · '
        f"{_e(scope)}</p></div>"
        f'<div class="who"><span>Signed in as {_e(names(viewer))}</span>'
        f'<form method="post" action="{PATH}/logout"><button type="submit" class="quiet">Sign out</button></form>'
        "</div></header><main>"
        f"{_filters(desk, days, team)}"
        f'<section aria-labelledby="summary-title"><h2 id="summary-title">Summary</h2>'
        f'<div class="cards">{_cards(board.summary, days)}</div>{_hours_note(desk)}</section>'
        '<section aria-labelledby="volume-title"><h2 id="volume-title">Ticket volume</h2>'
        + _chart("volume", query, f"Line chart of tickets created and resolved per day over the last {days} days: "
                 f"{created:,} created, {resolved:,} resolved.", f"{created:,} created, {resolved:,} resolved")
        + '</section><div class="two">'
        '<section aria-labelledby="categories-title"><h2 id="categories-title">By category</h2>'
        + _chart("categories", query, "Bar chart of tickets per category: " + (", ".join(
            f"{c.category.replace('_', ' ')} {c.count:,}" for c in board.categories) or "none") + ".",
            f"Tickets created in the last {days} days")
        + _table("Tickets per category", ("Category", "Tickets"), categories, "categories")
        + '</section><section aria-labelledby="backlog-title"><h2 id="backlog-title">Backlog age</h2>'
        + _chart("backlog", query, "Bar chart of open tickets by age: " + ", ".join(
            f"{b.label} {b.count:,}" for b in board.backlog) + ".", f"{open_now:,} open now, by age")
        + _table("Open tickets by age", ("Age", "Open tickets"), [[_e(b.label), f"{b.count:,}"] for b in board.backlog],
                 "backlog", "No open tickets.")
        + '</section></div><section aria-labelledby="agents-title"><h2 id="agents-title">Agent performance</h2>'
        + _table(f"Agents, last {days} days", ("Agent", "Assigned", "Resolved", "Median first response",
                                               "SLA met", "CSAT"), _agent_rows(board.agents, names), "agents")
        + '</section><section aria-labelledby="trends-title"><h2 id="trends-title">Trending issues</h2>'
        '<p class="hint">Categories and tags with at least twice their usual weekly volume this week.</p>'
        + _trends(board)
        + '</section><section aria-labelledby="daily-title"><h2 id="daily-title">Daily report</h2>'
        + _table("Per day of creation, newest first", ("Day", "Total", "Critical", "Resolved", "Avg first response",
                                                       "Avg resolution", "SLA breaches", "Resolution rate"),
                 daily, "daily")
        + "<p class=\"hint\">The same table on the command line: <code>wedsync-support report daily --days "
        f"{days}</code> (add <code>--csv</code> or <code>--json</code>).</p></section></main>"
    )
    return _document(f"Support dashboard · last {days} days", body)


# -- the routes ------------------------------------------------------------------------------------------------


async def warm_up(desk: Desk) -> None:
    """Read the closed days the longest period needs once, at start, so that the first page does not (at
    100,000 tickets about 2 s, in chunks of a week that let mail and Slack go on in between)."""
    started = time.perf_counter()
    try:
        async with desk.db.sessions() as session:
            await report_store.build_dashboard(session, now=desk.clock.now(), days=max(PERIODS),
                                               calendars=desk.config.calendars)
    except Exception:
        log.exception("the dashboard's warm-up failed; the first page will read its days itself")
        return
    log.info("dashboard: the %d-day figures are ready (%.1f s)", max(PERIODS), time.perf_counter() - started)


class _Boards:
    """The numbers of the pages just served, per period and team, for their chart requests (a few seconds: the
    page itself always computes afresh)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._kept: dict[tuple[int, str | None], tuple[float, Dashboard]] = {}

    async def fresh(self, days: int, team: str | None) -> Dashboard:
        desk = self.desk
        async with desk.db.sessions() as session:
            board = await report_store.build_dashboard(session, now=desk.clock.now(), days=days, team=team,
                                                       calendars=desk.config.calendars)
        self._kept[(days, team)] = (time.monotonic(), board)
        return board

    async def recent(self, days: int, team: str | None) -> Dashboard:
        kept = self._kept.get((days, team))
        if kept is not None and time.monotonic() - kept[0] < BOARD_SECONDS:
            return kept[1]
        return await self.fresh(days, team)


def _view(desk: Desk, request: web.Request) -> tuple[int, str | None] | str:
    """(days, team) the query asks for, or what is wrong with it."""
    given_days, given_team = request.query.get("days", str(DEFAULT_DAYS)), request.query.get("team", "")
    if given_days not in {str(d) for d in PERIODS}:
        return f"The period is {', '.join(map(str, PERIODS))} days."
    if given_team and given_team not in desk.config.teams:
        return "There is no such team."
    return int(given_days), given_team or None


def _same_origin(desk: Desk, request: web.Request) -> bool:
    """A POST from our own page. Browsers say so in Sec-Fetch-Site; the Origin, when it is a real one (with
    Referrer-Policy no-referrer Chromium sends `Origin: null`), must be this server's as the browser reached it or
    the public URL's. A request with neither says nothing about where it came from and is refused."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    if origin not in (None, "null"):
        public = urlsplit(desk.settings.base_url)
        return origin in {f"{request.scheme}://{request.host}", f"{public.scheme}://{public.netloc}"}
    return fetch_site == "same-origin"


def add_dashboard_routes(web_app: web.Application, desk: Desk) -> None:
    """Register the dashboard on `web_app` (the Slack server's, or the customer pages' own)."""
    boards = _Boards(desk)
    secure = desk.settings.base_url.startswith("https://")

    async def viewer(request: web.Request) -> str | None:
        return await session_person(desk, request.cookies.get(COOKIE))

    async def dashboard(request: web.Request) -> web.Response:
        person = await viewer(request)
        if person is None:
            return refused()
        view = _view(desk, request)
        if isinstance(view, str):
            return _bad_request(view)
        days, team = view
        board = await boards.fresh(days, team)
        return web.Response(text=render(desk, board, days, person), content_type="text/html", charset="utf-8",
                            headers=PAGE_HEADERS)

    async def chart(request: web.Request) -> web.Response:
        if await viewer(request) is None:
            return refused()
        draw = CHARTS.get(request.match_info["name"])
        view = _view(desk, request)
        if draw is None or isinstance(view, str):
            return _bad_request("There is no such chart.")
        board = await boards.recent(*view)
        svg = await asyncio.to_thread(draw, board)  # 100-200 ms when not cached: off the event loop
        return web.Response(body=svg, content_type="image/svg+xml", headers=CHART_HEADERS)

    async def login(request: web.Request) -> web.Response:
        session_id = await start_session(desk, request.match_info["token"])
        if session_id is None:
            return refused()
        response = web.HTTPSeeOther(PATH, headers=PAGE_HEADERS)
        # SameSite=Lax, not Strict: the click comes from Slack (another site), and the browser treats the redirect
        # that follows as part of that cross-site navigation; a Strict cookie would not be sent with it, and the
        # first view would be a 403. Lax still keeps it off other sites' POSTs, frames and images.
        response.set_cookie(COOKIE, session_id, path=PATH, max_age=int(SESSION_LIFETIME.total_seconds()),
                            httponly=True, samesite="Lax", secure=secure)
        raise response

    async def logout(request: web.Request) -> web.Response:
        if not _same_origin(desk, request):
            return refused()
        await end_session(desk, request.cookies.get(COOKIE))
        body = ('<main class="narrow"><h1>Signed out</h1><p>Open the dashboard again from Slack: the '
                "<strong>Open dashboard</strong> button in the App Home, or <code>/ticket dashboard</code>.</p></main>")
        response = web.Response(text=_document("Dashboard: signed out", body), content_type="text/html",
                                charset="utf-8", headers=PAGE_HEADERS)
        response.del_cookie(COOKIE, path=PATH, httponly=True, samesite="Lax", secure=secure)
        return response

    async def style(_request: web.Request) -> web.Response:
        return web.Response(body=_CSS, content_type="text/css", charset="utf-8",
                            headers={**_SECURITY, "Cache-Control": "public, max-age=3600"})

    router = web_app.router
    router.add_get(PATH, dashboard)
    router.add_get(PATH + "/charts/{name}.svg", chart)
    router.add_get(PATH + "/login/{token}", login, allow_head=False)
    router.add_post(PATH + "/logout", logout)
    router.add_get(PATH + "/static/dashboard.css", style)
