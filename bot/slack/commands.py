"""`/ticket` and the App Home (with its "Open dashboard" button)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import dashboard as dashboard_blocks
from blocks.card import build_ticket_card, customer_label
from blocks.home import HomeStats, build_home
from blocks.ids import Action, Callback, Field
from blocks.modals import build_new_ticket_modal
from bot.dashboard_access import LINK_LIFETIME, can_view, sign_in_link
from bot.desk import Desk
from bot.imports import RowError, parse_email_address
from db import metrics
from db import tickets as ticket_store
from db.tickets import OPEN_STATUSES
from ticketing.create import NewTicket
from ticketing.model import Priority, Source, Ticket

HELP = ("`/ticket ID` shows a ticket · `/ticket mine` your open tickets · `/ticket queue [team]` a team's "
        "unassigned tickets · `/ticket new` opens a ticket for a customer who phoned or chatted · "
        "`/ticket dashboard` a link to the dashboard page")
DASHBOARD_WORD = "dashboard"


def by_urgency(tickets: list[Ticket]) -> list[Ticket]:
    """Soonest SLA deadline first (first response while it is pending, then resolution)."""
    return sorted(tickets, key=lambda t: t.sla.first_response_due if t.timeline.first_response is None
                  else t.sla.resolution_due)


def _lines(found: list[Ticket]) -> str:
    if not found:
        return "Nothing here."
    from blocks.text import escape

    return "\n".join(f"• *{t.id}* {t.priority} · {escape(t.subject[:80])}" for t in by_urgency(found)[:30])


def register(app: AsyncApp, desk: Desk) -> None:
    @app.command("/ticket")
    async def ticket_command(ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        await ack()
        words = (command.get("text") or "").split()
        user, channel = command["user_id"], command["channel_id"]

        async def say(text: str, blocks: list[dict[str, Any]] | None = None) -> None:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)

        if not words:
            await say(HELP)
        elif words[0].lower() == "new":
            await client.views_open(trigger_id=command["trigger_id"], view=build_new_ticket_modal())
        elif words[0].lower() == DASHBOARD_WORD:
            if not can_view(desk.config, user):
                await say(dashboard_blocks.REFUSED)
                return
            text, blocks = dashboard_blocks.link_blocks(await sign_in_link(desk, user), _link_minutes())
            await say(text, [b.to_dict() for b in blocks])
        elif words[0].lower() == "mine":
            async with desk.db.sessions() as session:
                mine = await ticket_store.list_tickets(session, OPEN_STATUSES, assignee=user, limit=200)
            await say("*Your open tickets*\n" + _lines(mine))
        elif words[0].lower() == "queue":
            team = words[1] if len(words) > 1 else _team_of(desk, user)
            async with desk.db.sessions() as session:
                queue = [t for t in await ticket_store.list_tickets(session, OPEN_STATUSES, team=team, limit=200)
                         if t.assignee is None]
            await say(f"*Queue of {team}*\n" + _lines(queue))
        else:
            found = await desk.find_ticket(words[0].strip("[]").upper())
            if found is None:
                await say(f"There is no ticket {words[0]}. " + HELP)
                return
            text, blocks = build_ticket_card(found, desk.clock.now(), customer_label=customer_label(found.customer),
                                             assignee_name=None, reason=found.classification.reason)
            await say(text, [b.to_dict() for b in blocks])

    @app.view(Callback.NEW_TICKET_MODAL)
    async def new_ticket(ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        values = view["state"]["values"]

        def value(name: Field) -> str:
            field = values.get(name.value, {}).get(name.value, {})
            return str(field.get("value") or (field.get("selected_option") or {}).get("value") or "").strip()

        try:
            email = parse_email_address(value(Field.CUSTOMER_EMAIL), "customer email")
        except RowError as error:
            await ack(response_action="errors", errors={Field.CUSTOMER_EMAIL.value: str(error)})
            return
        if not value(Field.SUBJECT):
            await ack(response_action="errors", errors={Field.SUBJECT.value: "Give the ticket a subject."})
            return
        await ack()
        async with desk.db.transaction() as session:
            customer = await ticket_store.ensure_customer(session, email, "", desk.clock.now())
        source = Source(value(Field.SOURCE) or Source.PHONE)
        created = await desk.open_ticket(NewTicket(customer, value(Field.SUBJECT), value(Field.DESCRIPTION) or
                                                   value(Field.SUBJECT), source))
        user = body["user"]["id"]
        await client.chat_postMessage(channel=user, text=f"Opened {created.ticket.id} for {email}.")

    @app.action(Action.OPEN_DASHBOARD)
    async def open_dashboard(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        view = (dashboard_blocks.link_modal(await sign_in_link(desk, user), _link_minutes())
                if can_view(desk.config, user) else dashboard_blocks.refused_modal())
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(Action.DASHBOARD_LINK)
    async def dashboard_link(ack: Any) -> None:
        await ack()  # a link button: Slack opens the URL; nothing to do here

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = event["user"]
        await client.views_publish(user_id=user, view=await home_view(desk, user))


def _link_minutes() -> int:
    return int(LINK_LIFETIME.total_seconds() // 60)


def _team_of(desk: Desk, user: str) -> str:
    agent = desk.config.agent(user)
    return agent.team if agent else "general_support"


async def home_view(desk: Desk, user: str) -> Any:
    now = desk.clock.now()
    agent = desk.config.agent(user)
    async with desk.db.sessions() as session:
        mine = await ticket_store.list_tickets(session, OPEN_STATUSES, assignee=user, limit=500)
        queue = [t for t in await ticket_store.list_tickets(session, OPEN_STATUSES, team=_team_of(desk, user),
                                                            limit=500) if t.assignee is None]
        every_open = await ticket_store.list_tickets(session, OPEN_STATUSES, limit=5000)
        rows = await metrics.metrics_between(session, now - timedelta(days=7), now + timedelta(hours=1))
    by_priority = {p: sum(1 for t in every_open if t.priority is p) for p in Priority}
    first = sum(r.first_response_count for r in rows)
    resolved = sum(r.resolution_count for r in rows)
    ratings = sum(r.satisfaction_responses for r in rows)
    first_minutes = sum(r.first_response_minutes_sum for r in rows)
    resolution_minutes = sum(r.resolution_minutes_sum for r in rows)
    stats = HomeStats(
        open_by_priority=by_priority,
        avg_first_response=timedelta(minutes=first_minutes / first) if first else None,
        avg_resolution=timedelta(minutes=resolution_minutes / resolved) if resolved else None,
        csat=(sum(r.satisfaction_sum for r in rows) / ratings - 1) / 4 if ratings else None,
    )
    return build_home(agent.name if agent else "", by_urgency(mine), by_urgency(queue), stats, now)
