"""Who may see the dashboard, the one-use sign-in link Slack hands them, and the session it starts.

    link = await sign_in_link(desk, user)     # "Open dashboard" in the App Home, `/ticket dashboard`
    GET  /dashboard/login/{token}             -> start_session: cookie, 303 to /dashboard
    every dashboard request                   -> session_person: the Slack user id, or None (403)

- People: the agents (leads among them), the team leads, the managers and the founder of support.yml, by Slack
  user id. The person is checked again on every request, so someone taken out of support.yml (and `serve`
  restarted with the new file) loses the dashboard at their next click, session or not.
- The link is signed with the desk's secret (bot/links.py, Purpose.DASHBOARD), names its person, expires after
  LINK_LIFETIME and works once: its use is recorded in the database, so two `serve` processes agree.
- The session id is 32 random bytes in an HttpOnly cookie on Path=/dashboard; the database keeps only its
  sha256 with the person and the expiry (SESSION_LIFETIME).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from bot.config import SupportConfig
from bot.desk import Desk
from bot.links import Purpose, make_token, read_token
from db import dashboard as store

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=12)
COOKIE = "wedsync_dashboard"
PATH = "/dashboard"
_LINK_SUBJECT = "dashboard"  # the signed token's ticket-id field


def can_view(config: SupportConfig, user: str) -> bool:
    """Is `user` (a Slack user id) one of the people of support.yml: an agent, a team lead, a manager, the founder?"""
    if not user:
        return False
    if config.agent(user) is not None:
        return True
    if config.founder is not None and config.founder.slack_id == user:
        return True
    return any(m.slack_id == user for m in config.managers) or any(t.lead == user for t in config.teams.values())


def person_name(config: SupportConfig, user: str) -> str:
    """A person's name from support.yml; an id it does not know stays an id."""
    agent = config.agent(user)
    if agent is not None:
        return agent.name
    people = [*([config.founder] if config.founder else []), *config.managers]
    return next((p.name for p in people if p.slack_id == user), user)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


async def sign_in_link(desk: Desk, user: str) -> str:
    """`{base_url}/dashboard/login/{token}` for `user`; the caller checks `can_view` first."""
    token = await make_token(desk, Purpose.DASHBOARD, _LINK_SUBJECT, user, LINK_LIFETIME)
    return f"{desk.settings.base_url}{PATH}/login/{token}"


async def start_session(desk: Desk, token: str) -> str | None:
    """The new session's cookie value, when `token` is a valid, unexpired, unused dashboard link of a person of
    support.yml; None for anything else (forged, changed, expired, used before, a stranger's)."""
    claim = await read_token(desk, token, Purpose.DASHBOARD)
    if claim is None or claim.ticket_id != _LINK_SUBJECT or not can_view(desk.config, claim.value):
        return None
    session_id = secrets.token_urlsafe(32)
    now = desk.clock.now()
    async with desk.db.transaction() as session:
        if not await store.use_link(session, _hash(token), claim.value, now, claim.expires):
            return None
        await store.start_session(session, _hash(session_id), claim.value, now, now + SESSION_LIFETIME)
    return session_id


async def session_person(desk: Desk, session_id: str | None) -> str | None:
    """The Slack user id of a live session whose person is still in support.yml; None otherwise."""
    if not session_id or len(session_id) > 128 or not session_id.isascii():
        return None
    async with desk.db.sessions() as session:
        user = await store.session_user(session, _hash(session_id), desk.clock.now())
    return user if user is not None and can_view(desk.config, user) else None


async def end_session(desk: Desk, session_id: str | None) -> None:
    if session_id and session_id.isascii():
        async with desk.db.transaction() as session:
            await store.end_session(session, _hash(session_id))
