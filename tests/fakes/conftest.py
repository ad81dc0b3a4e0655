"""The stand-ins' fixtures for the tests in this folder (elsewhere, import them from their modules)."""

from tests.fakes.openai_api import openai_api_fixture  # noqa: F401
from tests.fakes.slack_api import slack_api_fixture  # noqa: F401
from tests.fakes.twilio_api import twilio_api_fixture  # noqa: F401
