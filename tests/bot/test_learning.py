"""Retraining from the desk's own history: agents' category corrections become training rows, a new model
version is trained in the background (a process pool) and swapped in, and intake goes on meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import actions
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.learning import CORRECTION_WEIGHT, Retrainer, history
from bot.settings import Settings
from channels.learned.store import ModelStore
from db import tickets as ticket_store
from tests.clocks import FakeClock
from tests.learned_models import small_model, small_seed
from ticketing.create import NewTicket
from ticketing.model import Category

# Words no seed row has: only the agents' corrections can teach what they mean.
JARGON = [("Glimmerbox", "the glimmerbox zorbly thing again"),
          ("zorbly glimmerbox", "zorbly glimmerbox, same as last time"),
          ("Glimmerbox again", "our zorbly glimmerbox, you know the one"),
          ("zorbly", "glimmerbox zorbly please"),
          ("Glimmerbox zorbly", "zorbly and the glimmerbox, again")]
TAUGHT = Category.TRAINING


@pytest.fixture
async def learning_desk(database_url: str, support_yml: Path, tmp_path: Path, clock: FakeClock
                        ) -> AsyncIterator[Desk]:
    folder = tmp_path / "models"
    ModelStore(folder).save(small_model(), small_seed(), clock.now())
    settings = Settings(_env_file=None, database_url=database_url, support_config=support_yml,
                        classifier_dir=folder)
    desk = await start_desk(settings, clock)
    desk.learner.seed = lambda: list(small_seed())
    yield desk
    await desk.learner.aclose()
    await desk.db.close()


async def corrected(desk: Desk, subject: str, description: str, category: Category) -> None:
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, "kim@example.com", "Kim", desk.clock.now())
    created = await desk.open_ticket(NewTicket(customer, subject, description), confirm=False)
    await actions.set_category(desk, created.ticket.id, category, by="UTECHAGNT1")


async def test_agent_corrections_retrain_the_model_and_it_learns_them(learning_desk: Desk) -> None:
    desk, learned = learning_desk, learning_desk.learner
    assert learned.status().version == 1
    before = await desk.classify("Glimmerbox", "the zorbly glimmerbox, once more")
    assert before.category is not TAUGHT
    for subject, description in JARGON:
        await corrected(desk, subject, description, TAUGHT)
    found = await history(desk.db)
    assert (found.corrections, found.resolved, len(found.rows)) == (5, 0, 5 * CORRECTION_WEIGHT)
    retrainer = Retrainer(desk, learned, every_seconds=3600, min_new=5)
    info = await retrainer.retrain_if_due()
    assert info is not None and info.version == 2
    assert info.sources == {"seed": len(small_seed()), "correction": 5 * CORRECTION_WEIGHT}
    assert learned.status().state == "ready" and learned.status().version == 2
    answer = await desk.classify("Glimmerbox", "the zorbly glimmerbox, once more")
    assert (answer.category, answer.source) == (TAUGHT, "learned")
    assert answer.reason.startswith("learned: training ")
    assert await retrainer.retrain_if_due() is None  # nothing new since version 2


async def test_too_few_new_corrections_do_not_retrain(learning_desk: Desk) -> None:
    await corrected(learning_desk, *JARGON[0], TAUGHT)
    assert await Retrainer(learning_desk, learning_desk.learner, 3600, min_new=2).retrain_if_due() is None
    assert learning_desk.learner.status().version == 1


async def test_intake_is_answered_while_the_model_retrains(learning_desk: Desk) -> None:
    desk = learning_desk
    training = asyncio.create_task(desk.learner.retrain(list(small_seed())))
    await asyncio.sleep(0)
    answer = await desk.classify("Payment failed", "my card was declined")  # answered by the model in use
    assert not training.done() and answer.category is Category.BILLING
    info = await training
    assert info.version == 2


async def test_a_resolved_ticket_becomes_a_training_row_with_its_final_category(learning_desk: Desk) -> None:
    desk = learning_desk
    async with desk.db.transaction() as session:
        customer = await ticket_store.ensure_customer(session, "kim@example.com", "Kim", desk.clock.now())
    created = await desk.open_ticket(NewTicket(customer, "Invoice please", "please send me the March invoice"),
                                     confirm=False)
    assert (await history(desk.db)).resolved == 0
    await actions.resolve(desk, created.ticket.id, by="UTECHAGNT1")
    found = await history(desk.db)
    assert (found.corrections, found.resolved) == (0, 1)
    (row,) = found.rows
    assert (row.subject, row.category, row.source) == ("Invoice please", created.ticket.category.value, "resolved")
