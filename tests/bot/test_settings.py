"""Environment settings as `serve` and the CLI read them: a mistake names the setting and the fix, never a
secret; a misspelt key is named with the setting it probably meant; half a feature says what is missing."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest

from bot.errors import SettingsError
from bot.settings import load_settings
from bot.settings_check import mask_url_password

SECRET = "s3cr3t-Zq8wX"
# Every setting that carries a secret, with a value of the right shape that holds SECRET.
SECRETS = {
    "SLACK_BOT_TOKEN": f"xoxb-{SECRET}",
    "SLACK_SIGNING_SECRET": SECRET,
    "SLACK_APP_TOKEN": f"xapp-{SECRET}",
    "TWILIO_AUTH_TOKEN": SECRET,
    "OPENAI_API_KEY": f"sk-{SECRET}",
    "SMTP_PASSWORD": SECRET,
    "IMAP_PASSWORD": SECRET,
    "DATABASE_URL": f"postgresql+asyncpg://support:{SECRET}@127.0.0.1:5432/support",
    "OPENAI_BASE_URL": f"https://proxy-user:{SECRET}@llm.example.com/v1",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No setting of this desk from the machine's environment; the working directory has no .env."""
    import os

    for key in list(os.environ):
        if key.startswith(("DATABASE_", "SUPPORT_", "SLACK_", "TWILIO_", "SMTP_", "IMAP_", "OPENAI_", "HTTP_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def error_of(env_file: Path | None = None) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file)
    return caught.value


def everything_said(error: BaseException) -> str:
    """The message and the whole traceback, causes and contexts included, as a log would print it."""
    return str(error) + "".join(traceback.format_exception(error))


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_whole_settings_check_that_fails_never_shows_a_secret(clean_env: pytest.MonkeyPatch, name: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """The check across settings (a user token where the bot token goes) used to echo every value given."""
    clean_env.setenv(name, SECRETS[name])
    clean_env.setenv("SLACK_BOT_TOKEN", f"xoxp-{SECRET}" if name == "SLACK_BOT_TOKEN" else "xoxp-user-token")
    clean_env.setenv("SLACK_SIGNING_SECRET", SECRETS["SLACK_SIGNING_SECRET"])
    with caplog.at_level(logging.DEBUG):
        error = error_of()
    assert "SLACK_BOT_TOKEN must be the bot token" in str(error)
    assert SECRET not in everything_said(error) and SECRET not in caplog.text


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_field_check_that_fails_next_to_a_secret_never_shows_it(clean_env: pytest.MonkeyPatch, name: str) -> None:
    clean_env.setenv(name, SECRETS[name])
    clean_env.setenv("SMTP_LISTEN_PORT", "twenty-five")
    error = error_of()
    assert "SMTP_LISTEN_PORT" in str(error) and "'twenty-five'" in str(error)
    assert SECRET not in everything_said(error)


def test_a_bad_secret_itself_is_named_and_hidden(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLACK_APP_TOKEN", f"xoxb-{SECRET}")
    clean_env.setenv("SLACK_BOT_TOKEN", f"xoxb-{SECRET}")
    error = error_of()
    assert "SLACK_APP_TOKEN must be an app-level token starting xapp-" in str(error)
    assert SECRET not in everything_said(error)


def test_secrets_in_the_env_file_are_not_shown_either(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"SLACK_BOT_TOKEN=xoxp-{SECRET}\nTWILIO_AUTH_TOKEN={SECRET}\nDATABASE_URL={SECRETS['DATABASE_URL']}\n")
    error = error_of(env)
    assert SECRET not in everything_said(error)


def test_a_url_password_is_masked_wherever_it_appears() -> None:
    assert mask_url_password("postgresql+asyncpg://support:pw@db:5432/x") == "postgresql+asyncpg://support:***@db:5432/x"
    assert mask_url_password("got 'https://u:p%40ss@host/v1'") == "got 'https://u:***@host/v1'"
    assert mask_url_password("postgresql://support@db/x") == "postgresql://support@db/x"


# -- issue 12.9: typos and half a feature ---------------------------------------------------------------------

def test_a_misspelt_key_in_the_env_file_is_named_with_the_setting_it_probably_meant(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text(f"SMTP_HOST=smtp.example.com\nSMTP_USER=desk\nSMTP_PASSWORD={SECRET}\nSMTP_PASWORD=x\n"
                   "SLACK_BOT_TOKN=xoxb-1\n")
    message = str(error_of(env))
    assert f"SMTP_PASWORD (in {env}) is not a setting of this desk; did you mean SMTP_PASSWORD?" in message
    assert "SLACK_BOT_TOKN" in message and "did you mean SLACK_BOT_TOKEN?" in message
    assert SECRET not in message


def test_a_misspelt_key_in_the_environment_is_warned_about_with_the_likely_name(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("IMAP_PASWORD", SECRET)
    clean_env.setenv("TWILIO_EDGE", "dublin")  # the twilio library's own setting: not ours, not a typo
    with caplog.at_level(logging.WARNING):
        load_settings(None)
    assert "IMAP_PASWORD (in the environment) is not a setting of this desk; did you mean IMAP_PASSWORD?" in caplog.text
    assert "TWILIO_EDGE" not in caplog.text and SECRET not in caplog.text


def test_a_key_with_a_known_prefix_and_nothing_close_is_named_without_a_guess(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text("OPENAI_ORGANISATION_NAME=acme\n")
    message = str(error_of(env))
    assert "OPENAI_ORGANISATION_NAME" in message and "did you mean" not in message


def test_only_the_twilio_token_says_which_twilio_settings_are_missing(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TWILIO_AUTH_TOKEN", SECRET)
    message = str(error_of())
    assert ("TWILIO_AUTH_TOKEN is set, so SMS alerts (Twilio console > Account info) also need TWILIO_ACCOUNT_SID "
            "and TWILIO_FROM_NUMBER; set them, or unset TWILIO_AUTH_TOKEN") in message
    assert SECRET not in message


@pytest.mark.parametrize(("given", "missing"), [
    ({"IMAP_HOST": "imap.example.com"}, "also need IMAP_USER and IMAP_PASSWORD"),
    ({"IMAP_USER": "desk", "IMAP_PASSWORD": SECRET}, "also needs IMAP_HOST"),
    ({"SMTP_HOST": "smtp.example.com", "SMTP_PASSWORD": SECRET}, "SMTP_PASSWORD is set but SMTP_USER is missing"),
    ({"SMTP_USER": "desk", "SMTP_PASSWORD": SECRET}, "SMTP_USER is set but SMTP_HOST is missing"),
    ({"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}, "OPENAI_BASE_URL is set but OPENAI_API_KEY is missing"),
    ({"SLACK_SIGNING_SECRET": SECRET}, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is missing"),
    ({"SLACK_APP_TOKEN": f"xapp-{SECRET}"}, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is missing"),
])
def test_half_a_feature_says_exactly_what_is_missing(clean_env: pytest.MonkeyPatch, given: dict[str, str],
                                                     missing: str) -> None:
    for key, value in given.items():
        clean_env.setenv(key, value)
    message = str(error_of())
    assert missing in message and SECRET not in message


def test_a_whole_feature_and_no_feature_both_load(clean_env: pytest.MonkeyPatch) -> None:
    assert not load_settings(None).sms_enabled
    for key, value in {"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": SECRET,
                       "TWILIO_FROM_NUMBER": "+447700900000", "SMTP_HOST": "smtp.example.com"}.items():
        clean_env.setenv(key, value)
    assert load_settings(None).sms_enabled


def test_the_example_env_file_copied_as_env_loads_without_a_complaint(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = tmp_path / ".env"
    env.write_text((Path(__file__).parents[2] / ".env.example").read_text())
    with caplog.at_level(logging.WARNING):
        settings = load_settings(env)
    assert settings.support_address == ("support@wedsync.com",) and caplog.text == ""
