"""Checks of the settings as given, before and after pydantic reads them: a key that looks like a misspelt
setting, a feature set up by half, and error text that must never carry a secret. Values are never shown
here except the non-secret ones pydantic complains about, with any URL password masked."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

PREFIXES = ("SMTP_", "SLACK_", "IMAP_", "TWILIO_", "OPENAI_")
# Read from the environment by the libraries themselves (twilio's edge and region), not by the desk.
OTHER_TOOLS = frozenset({"TWILIO_EDGE", "TWILIO_REGION", "TWILIO_LOG_LEVEL"})
_URL_PASSWORD = re.compile(r"(://[^/?#@\s:]*:)[^@\s/]*@")

# A feature and the settings it needs together; `needs` are what the feature cannot work without.
FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SMS alerts (Twilio console > Account info)", ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                                                     "TWILIO_FROM_NUMBER")),
    ("the IMAP poller", ("IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD")),
)


def mask_url_password(text: str) -> str:
    """`scheme://user:secret@host` -> `scheme://user:***@host`, wherever it appears in `text`."""
    return _URL_PASSWORD.sub(r"\1***@", text)


@dataclass(frozen=True)
class UnknownKey:
    key: str
    where: str  # "the environment" or the .env file's path
    suggestion: str | None

    def __str__(self) -> str:
        hint = f"did you mean {self.suggestion}? " if self.suggestion else ""
        return (f"{self.key} (in {self.where}) is not a setting of this desk; {hint}"
                f"rename or remove it (.env.example lists every setting)")


def find_unknown_keys(keys: Iterable[str], known: Collection[str], where: str) -> list[UnknownKey]:
    """Keys with one of our prefixes that are not settings: likely typos, with the closest known name."""
    found = []
    for key in sorted({k.upper() for k in keys}):
        if key.startswith(PREFIXES) and key not in known and key not in OTHER_TOOLS:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            found.append(UnknownKey(key, where, close[0] if close else None))
    return found


def missing_halves(given: Mapping[str, bool]) -> list[str]:
    """One line per feature set up by half: what is set, what is missing. `given`: setting name -> set."""
    problems = []
    for feature, names in FEATURES:
        have = [n for n in names if given.get(n)]
        lack = [n for n in names if not given.get(n)]
        if have and lack:
            problems.append(f"{_join(have)} {'is' if len(have) == 1 else 'are'} set, so {feature} also "
                            f"need{'s' if len(lack) == 1 else ''} {_join(lack)}; set "
                            f"{'it' if len(lack) == 1 else 'them'}, or unset {_join(have)}")
    problems += _needs(given, "SMTP_PASSWORD", "SMTP_USER", "outgoing mail logs in with SMTP_USER and SMTP_PASSWORD")
    problems += _needs(given, "SMTP_USER", "SMTP_HOST", "outgoing mail goes to SMTP_HOST")
    problems += _needs(given, "SMTP_USER", "SMTP_PASSWORD", "outgoing mail logs in with SMTP_USER and SMTP_PASSWORD")
    problems += _needs(given, "OPENAI_BASE_URL", "OPENAI_API_KEY", "the model classifier runs only with a key")
    problems += _needs(given, "OPENAI_MODEL", "OPENAI_API_KEY", "the model classifier runs only with a key")
    problems += _needs(given, "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "the Slack app needs its bot token "
                                                                         "(OAuth & Permissions, xoxb-...)")
    problems += _needs(given, "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "Socket Mode needs the bot token too "
                                                                    "(OAuth & Permissions, xoxb-...)")
    return problems


def _needs(given: Mapping[str, bool], have: str, lack: str, why: str) -> list[str]:
    if given.get(have) and not given.get(lack):
        return [f"{have} is set but {lack} is missing ({why}); set {lack}, or unset {have}"]
    return []


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
