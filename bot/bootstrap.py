"""Builds the desk from settings: configuration checked, database opened and migrated, canned synced."""

from __future__ import annotations

import logging

from bot import automation, related, sla
from bot.config import load_config
from bot.desk import Clock, Desk, SystemClock
from bot.errors import SettingsError
from bot.kb import index_folder
from bot.settings import Settings
from channels.language import LanguageDetector
from channels.learned.classifier import LearnedClassifier
from channels.learned.store import ModelStore
from channels.llm import LlmClassifier, LlmConfig
from db.canned import sync_canned
from db.migrate import upgrade
from db.session import open_database

log = logging.getLogger(__name__)


async def start_desk(settings: Settings, clock: Clock | None = None, train_missing: bool = False) -> Desk:
    """Everything is checked before anything runs: a bad support.yml or DATABASE_URL stops here.

    `train_missing`: with no usable learned model, train the seed model in the background. Only `serve` asks
    for it: a one-shot CLI command would exit before the training ends (the patterns decide for it)."""
    config = load_config(settings.support_config)
    database = open_database(settings.database_url)
    try:
        await upgrade(database)
        desk = Desk(settings, config, database, clock or SystemClock())
        desk.after_create.append(lambda session, ticket: sla.start(desk, session, ticket))
        desk.after_change.append(lambda session, before, after: sla.follow(desk, session, before, after))
        desk.after_create.append(lambda session, ticket: automation.on_created(desk, session, ticket))
        desk.after_change.append(lambda session, before, after: automation.on_changed(desk, session, before, after))
        desk.after_create.append(related.follower(desk))
        if settings.openai_api_key is not None:
            model = LlmClassifier(LlmConfig(
                api_key=settings.openai_api_key.get_secret_value(), base_url=settings.openai_base_url,
                model=settings.openai_model, timeout=settings.openai_timeout,
                templates=tuple(c.name for c in config.canned)))
            desk.classifier, desk.drafter = model, model.draft_reply
        if settings.classifier_dir is not None:
            learned = LearnedClassifier(ModelStore(settings.classifier_dir), now=desk.clock.now)
            await learned.start(train=train_missing)  # it logs the one line a missing model needs
            desk.learned, desk.learner = learned, learned
        languages = [c for c in settings.detect_languages.split(",") if c.strip()]
        if languages:
            try:
                desk.detect_language = LanguageDetector(languages).detect
            except ValueError as error:
                raise SettingsError(f"DETECT_LANGUAGES={settings.detect_languages!r}: {error} "
                                    "(or set it empty to turn detection off)") from None
        if settings.kb_folder is not None:
            added, unchanged, removed = await index_folder(database, settings.kb_folder, desk.clock.now())
            log.info("knowledge base: %d new or changed, %d unchanged, %d removed", added, unchanged, removed)
        async with database.transaction() as session:
            await sync_canned(session, config.canned, desk.clock.now())
        await desk.secret()
    except BaseException:
        await database.close()
        raise
    log.debug("desk ready on %s", database.engine.dialect.name)
    return desk
