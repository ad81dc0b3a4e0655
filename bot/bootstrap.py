"""Builds the desk from settings: configuration checked, database opened and migrated, canned synced."""

from __future__ import annotations

import logging

from bot.config import load_config
from bot.desk import Clock, Desk, SystemClock
from bot.settings import Settings
from db.canned import sync_canned
from db.migrate import upgrade
from db.session import open_database

log = logging.getLogger(__name__)


async def start_desk(settings: Settings, clock: Clock | None = None) -> Desk:
    """Everything is checked before anything runs: a bad support.yml or DATABASE_URL stops here."""
    config = load_config(settings.support_config)
    database = open_database(settings.database_url)
    try:
        await upgrade(database)
        desk = Desk(settings, config, database, clock or SystemClock())
        async with database.transaction() as session:
            await sync_canned(session, config.canned, desk.clock.now())
    except BaseException:
        await database.close()
        raise
    log.debug("desk ready on %s", database.engine.dialect.name)
    return desk
