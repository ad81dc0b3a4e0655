"""Environment settings (and `.env`), read once at start-up and passed down."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import SettingsError
from bot.settings_check import find_unknown_keys, mask_url_password, missing_halves

log = logging.getLogger(__name__)

SECRET_WORDS = ("PASSWORD", "TOKEN", "SECRET", "KEY")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./wedsync-support.db"


class Settings(BaseSettings):
    """Every setting is an environment variable of the same name in upper case; see .env.example."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    support_config: Path = Path("support.yml")
    log_level: str = "INFO"

    # Inbound mail
    support_address: Annotated[tuple[str, ...], NoDecode] = ("support@wedsync.com",)
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = Field(2525, ge=0, le=65535)
    max_message_bytes: int = Field(25 * 1024 * 1024, gt=0)
    attachment_cap_bytes: int = Field(10 * 1024 * 1024, ge=0)
    sender_rate_per_hour: int = Field(20, gt=0)
    imap_host: str | None = None
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_ssl: bool = True
    imap_folder: str = "INBOX"
    imap_processed_folder: str | None = None
    imap_poll_seconds: float = Field(60.0, gt=0)

    # Outbound mail
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from_name: str = "WedSync Support"
    message_id_domain: str | None = None

    # The model classifier (any OpenAI-compatible endpoint) and the knowledge base
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = Field(5.0, gt=0, le=60)
    kb_folder: Path | None = None  # markdown articles suggested in the Reply modal

    # The learned classifier (issue 11): model files are versioned in CLASSIFIER_DIR; unset, it is off
    classifier_dir: Path | None = None
    classifier_retrain_seconds: float = Field(3600.0, gt=0)  # how often to look for new corrections
    classifier_retrain_min: int = Field(20, ge=1)  # new corrected or resolved tickets that trigger a retrain
    detect_languages: str = "en,fr,de,es,it,nl"  # languages to detect customers' mail in; empty: off

    # SMS (Twilio) for managers' alerts
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_api_url: str | None = None
    sla_tick_seconds: float = Field(2.0, gt=0, le=60)

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # set it to use Socket Mode instead of HTTP
    slack_api_url: str = "https://slack.com/api/"
    public_url: str | None = None  # how customers reach the HTTP server (rating links); default http://HOST:PORT
    http_host: str = "127.0.0.1"
    http_port: int = Field(3000, ge=0, le=65535)
    reply_undo_seconds: float = Field(30.0, ge=0, le=600)
    slack_channel_interval: float = Field(1.0, ge=0)  # at most one message a second per channel
    slack_file_max_bytes: int = Field(20 * 1024 * 1024, ge=0)  # customers' attachments over this are named only

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        token = self.slack_bot_token.get_secret_value() if self.slack_bot_token else None
        if token is not None and not token.startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN must be the bot token, starting xoxb- (OAuth & Permissions page)")
        app_token = self.slack_app_token.get_secret_value() if self.slack_app_token else None
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN must be an app-level token starting xapp- (Basic Information page)")
        if token and not app_token and self.slack_signing_secret is None:
            raise ValueError("SLACK_BOT_TOKEN is set for HTTP mode, so SLACK_SIGNING_SECRET is needed too "
                             "(Basic Information > App Credentials), or set SLACK_APP_TOKEN for Socket Mode")
        return self

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None

    @field_validator("support_address", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("support_address")
    @classmethod
    def _check_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one address, e.g. SUPPORT_ADDRESS=support@wedsync.com")
        for address in value:
            if address.count("@") != 1 or not address.split("@")[1]:
                raise ValueError(f"{address!r} is not an email address")
        return tuple(a.lower() for a in value)

    @property
    def own_domain(self) -> str:
        """The domain of our own Message-IDs: MESSAGE_ID_DOMAIN, else the first support address's."""
        return self.message_id_domain or self.support_address[0].split("@", 1)[1]


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Settings from the environment and `.env`; a mistake names the variable and the fix, and never shows a
    secret (nor a password inside a URL). A key in `.env` that looks like a misspelt setting is an error; one in
    the environment is a warning (the environment is shared with other programs)."""
    known = {name.upper() for name in Settings.model_fields}
    problems = [str(k) for k in find_unknown_keys(_file_keys(env_file), known, str(env_file))]
    for unknown in find_unknown_keys(os.environ, known, "the environment"):
        log.warning("%s", unknown)
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as error:
        problems += [_explain(issue) for issue in error.errors()]
    else:
        problems += missing_halves({name.upper(): getattr(settings, name) not in (None, "")
                                    for name in settings.model_fields_set})
    if problems:
        raise SettingsError("bad settings:\n  " + "\n  ".join(problems) + "\nsee .env.example") from None
    return settings


def _file_keys(env_file: Path | None) -> list[str]:
    if env_file is None or not env_file.is_file():
        return []
    return [key for key in dotenv_values(env_file) if key]


def _explain(issue: Any) -> str:
    """One pydantic complaint: the setting, the problem and the value given unless it is a secret. A check of
    the whole model (empty `loc`) is given every setting as its input: its input is never shown."""
    message = str(issue["msg"]).removeprefix("Value error, ")
    if not issue["loc"]:
        return message
    name = "_".join(str(part) for part in issue["loc"]).upper()
    field = Settings.model_fields.get(str(issue["loc"][0]))
    secret = any(w in name for w in SECRET_WORDS) or (field is not None and "SecretStr" in str(field.annotation))
    shown = "(hidden)" if secret else mask_url_password(repr(issue.get("input")))
    return f"{name}: {message} (got {shown})"
