"""`serve`: one asyncio process running the SMTP listener, the IMAP poller, the inbox worker and the mailer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot import dashboard
from bot.bootstrap import start_desk
from bot.desk import Desk
from bot.digest import DigestScheduler
from bot.errors import SettingsError
from bot.inbox import Inbox
from bot.learning import Retrainer
from bot.mailer import Mailer
from bot.metrics_job import MetricsFolder
from bot.settings import Settings
from bot.sla import Ticker
from bot.slack.http import HttpServer
from bot.slack.runtime import SlackParts, start_slack
from bot.sms import SmsDispatcher
from bot.web import build_customer_web_app
from channels.email.imap_poller import ImapConfig, ImapPoller
from channels.email.outbound import SmtpSender, SmtpSenderConfig
from channels.email.smtp_listener import SmtpListener, SmtpListenerConfig
from channels.sms import SmsConfig, SmsSender
from db import mail as mail_store
from ticketing.sla import order_warnings

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass
class Running:
    """What `serve` started, for tests and for a clean stop."""

    desk: Desk
    inbox: Inbox
    listener: SmtpListener
    poller: ImapPoller | None = None
    mailer: Mailer | None = None
    slack: SlackParts | None = None
    http: HttpServer | None = None  # the customer pages when Slack has no HTTP server to share
    ticker: Ticker | None = None
    sms: SmsDispatcher | None = None
    retrainer: Retrainer | None = None
    metrics: MetricsFolder | None = None
    digest: DigestScheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, grace: float = 15.0) -> None:
        """Stop taking mail and Slack requests, let each worker finish the item in hand, then close the store."""
        await self.listener.stop()
        if self.http is not None:
            await self.http.stop()
        if self.slack is not None:
            await self.slack.stop_intake()
        imap = [t for t in self.tasks if t.get_name() == "imap"]
        for task in imap:  # the poller runs until cancelled; it logs out on the way
            task.cancel()
        await asyncio.gather(*imap, return_exceptions=True)
        if self.poller is not None:
            await self.poller.aclose()
        workers = [self.inbox, self.mailer, self.ticker, self.sms, self.metrics, self.retrainer, self.digest,
                   *(self.slack.workers if self.slack else [])]
        for worker in workers:
            if worker is not None:
                worker.stop()
        _done, late = await asyncio.wait(self.tasks, timeout=grace) if self.tasks else (set(), set())
        for task in late:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.slack is not None:
            await self.slack.close()
        if self.desk.learner is not None:
            await self.desk.learner.aclose()
        await self.desk.db.close()


def imap_config(settings: Settings) -> ImapConfig:
    if not settings.imap_user or settings.imap_password is None:
        raise SettingsError("IMAP_HOST is set, so IMAP_USER and IMAP_PASSWORD are needed too (or unset IMAP_HOST)")
    return ImapConfig(host=settings.imap_host or "", port=settings.imap_port, user=settings.imap_user,
                      password=settings.imap_password.get_secret_value(), ssl=settings.imap_ssl,
                      folder=settings.imap_folder, processed_folder=settings.imap_processed_folder,
                      poll_seconds=settings.imap_poll_seconds)


def smtp_sender(settings: Settings) -> SmtpSender:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpSender(SmtpSenderConfig(host=settings.smtp_host or "", port=settings.smtp_port,
                                       user=settings.smtp_user, password=password, starttls=settings.smtp_starttls))


async def start(settings: Settings, say: Say = log.info, desk: Desk | None = None) -> Running:
    """Start every part `settings` asks for; say what runs and what is not configured yet."""
    desk = desk or await start_desk(settings, train_missing=True)
    inbox = Inbox(desk)
    listener = SmtpListener(
        SmtpListenerConfig(host=settings.smtp_listen_host, port=settings.smtp_listen_port,
                           support_addresses=settings.support_address, max_message_size=settings.max_message_bytes),
        inbox.store,
    )
    running = Running(desk, inbox, listener)
    try:
        await listener.start()
    except OSError as error:
        await desk.db.close()
        raise SettingsError(f"cannot listen on {settings.smtp_listen_host}:{settings.smtp_listen_port} ({error}); "
                            "set SMTP_LISTEN_PORT to a free port") from error
    say(f"store: {desk.db.engine.url.render_as_string(hide_password=True)}")
    say(f"SMTP listener on {settings.smtp_listen_host}:{listener.port} for {', '.join(settings.support_address)}")
    running.tasks.append(_task(inbox.run(), "inbox"))
    if settings.imap_host:
        running.poller = ImapPoller(imap_config(settings), store=inbox.store,
                                    load_cursor=lambda account: _load_cursor(desk, account),
                                    save_cursor=lambda account, v, u: _save_cursor(desk, account, v, u))
        running.tasks.append(_task(running.poller.run(), "imap"))
        say(f"IMAP poller on {settings.imap_host}:{settings.imap_port} folder {settings.imap_folder}")
    else:
        say("IMAP poller: off (set IMAP_HOST, IMAP_USER, IMAP_PASSWORD to poll a mailbox)")
    if settings.smtp_host:
        running.mailer = Mailer(desk, smtp_sender(settings).send)
        desk.on_outbox.append(running.mailer.wake)
        running.tasks.append(_task(running.mailer.run(), "mailer"))
        say(f"mail out through {settings.smtp_host}:{settings.smtp_port}")
    else:
        say("mail out: off, replies and confirmations wait in the outbox (set SMTP_HOST to send them)")
    if desk.learner is not None:
        running.retrainer = Retrainer(desk, desk.learner, settings.classifier_retrain_seconds,
                                      settings.classifier_retrain_min)
        running.tasks.append(_task(running.retrainer.run(), "classifier-retrain"))
        if desk.learner.status().state != "training":  # a seed training in progress was said at its start
            say(f"learned classifier: {desk.learner.status().detail}; retrains from agents' corrections")
    running.ticker = Ticker(desk, settings.sla_tick_seconds)
    running.tasks.append(_task(running.ticker.run(), "sla-ticker"))
    running.metrics = MetricsFolder(desk)
    running.tasks.append(_task(running.metrics.run(), "metrics-fold"))
    if settings.sms_enabled:
        running.sms = SmsDispatcher(desk, SmsSender(SmsConfig(
            account_sid=settings.twilio_account_sid or "", from_number=settings.twilio_from_number or "",
            auth_token=settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else "",
            api_url=settings.twilio_api_url)))
        running.tasks.append(_task(running.sms.run(), "sms"))
        say(f"SMS alerts through Twilio from {settings.twilio_from_number}")
    else:
        say("SMS alerts: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)")
    if settings.slack_enabled:
        running.slack = await start_slack(desk, settings, say)
        running.tasks.extend(_task(worker.run(), name) for name, worker in running.slack.named_workers())
    else:
        say("Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN; see the README)")
    say(_start_digest(running, settings))
    running.tasks.append(_task(dashboard.warm_up(desk), "dashboard-warm-up"))
    if running.slack is None or running.slack.http is None:  # Slack off, or Socket Mode
        running.http = HttpServer(build_customer_web_app(desk), settings.http_host, settings.http_port)
        try:
            await running.http.start()
        except OSError as error:
            await running.stop()
            raise SettingsError(f"cannot listen on {settings.http_host}:{settings.http_port} ({error}); "
                                "set HTTP_PORT to a free port") from error
        say(f"customer pages (rating and self-service links) on http://{settings.http_host}:{running.http.port}; "
            f"links in mail use {settings.base_url}")
    if desk.config.source is None:
        say(f"{settings.support_config} not found: running on built-in defaults, no agents (see support.example.yml)")
    else:
        say(f"configuration: {desk.config.source.resolve()} ({len(desk.config.teams)} teams, "
            f"{len(desk.config.agents)} agents)")
    say(model_line(settings))
    for warning in order_warnings(desk.config.sla):
        log.warning("SLA matrix: %s; keep it if meant, or change `sla:` in support.yml", warning)
    return running


def _start_digest(running: Running, settings: Settings) -> str:
    """The morning digest job, when support.yml asks for one and Slack is on (its effects wait otherwise)."""
    targets = running.desk.config.digests
    if not targets:
        return "daily digest: off (add `digest:` to support.yml; see the README)"
    if not settings.slack_enabled:
        return "daily digest: off while Slack is off"
    running.digest = DigestScheduler(running.desk)
    running.tasks.append(_task(running.digest.run(), "digest"))
    where = ", ".join(f"{t.channel} {t.at:%H:%M} {t.timezone}" for t in targets)
    return f"daily digest: {where}"


def model_line(settings: Settings) -> str:
    if settings.openai_api_key is None:
        return "model classifier: off, patterns only (set OPENAI_API_KEY to ask a model about the rest)"
    where = urlsplit(settings.openai_base_url or "https://api.openai.com/v1")
    port = f":{where.port}" if where.port else ""  # the host without any user:password@ of the URL
    return f"model classifier: on, {settings.openai_model} at {where.scheme}://{where.hostname}{port}{where.path}"


def _task(work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    task = asyncio.create_task(work, name=name)
    task.add_done_callback(_report)
    return task


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %r", task.get_name(), task.exception())


async def _load_cursor(desk: Desk, account: str) -> tuple[int, int] | None:
    async with desk.db.sessions() as session:
        return await mail_store.load_cursor(session, account)


async def _save_cursor(desk: Desk, account: str, uidvalidity: int, last_uid: int) -> None:
    async with desk.db.transaction() as session:
        await mail_store.save_cursor(session, account, uidvalidity, last_uid, desk.clock.now())


async def serve_forever(settings: Settings, say: Say) -> None:
    """Run until SIGINT or SIGTERM, then stop every part cleanly."""
    running = await start(settings, say)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    say("ready; Ctrl-C stops")
    try:
        await stop.wait()
    finally:
        say("stopping")
        await running.stop()
        say("stopped")
