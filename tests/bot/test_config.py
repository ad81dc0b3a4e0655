"""support.yml: the example is complete and valid; mistakes name the key, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import build_config, load_config
from bot.errors import ConfigFileError
from ticketing.model import AgentRole, Priority, Tier

EXAMPLE = Path(__file__).parents[2] / "support.example.yml"


def test_the_example_file_loads_with_every_documented_key() -> None:
    config = load_config(EXAMPLE)
    assert config.company == "WedSync"
    assert config.founder is not None and config.founder.slack_id == "U0FOUNDER1"
    assert [m.name for m in config.managers] == ["Sam Manager"]
    assert set(config.teams) == {"billing_team", "technical_team", "customer_success", "security_team",
                                 "general_support"}
    assert config.agent("U0TOMTECH1") is not None and config.agent("U0TOMTECH1").role is AgentRole.SENIOR  # type: ignore[union-attr]
    assert config.patterns[0].name == "seating_chart" and len(config.patterns) > 10
    assert config.canned_response("ticket_received") is not None


def test_no_file_means_built_in_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.yml")
    assert config.agents == () and config.source is None
    assert {"ticket_received", "payment_troubleshooting", "refund_policy", "onboarding_welcome"} <= {
        c.name for c in config.canned}


def test_sla_overrides_change_only_the_cells_given() -> None:
    config = build_config({"sla": {"high": {"free": [600, 3000]}}})
    assert (config.sla[Priority.HIGH][Tier.FREE].first_response, config.sla[Priority.HIGH][Tier.FREE].resolution) == (
        600, 3000)
    assert config.sla[Priority.CRITICAL][Tier.ENTERPRISE].first_response == 15


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agents": [{"slack_id": "U1234567", "name": "A", "email": "a@x", "team": "nope"}]},
         "agents[0].team: unknown team 'nope'"),
        ({"teams": {"t": {"channel": "general"}}}, "teams.t.channel: 'general' is a channel name: use the channel id"),
        ({"teams": {"t": {"channel": "#billing"}}},
         "teams.t.channel: '#billing' is a channel name: use the channel id (C..., e.g. C0123ABCD), not its name"),
        ({"teams": {"t": {"channel": "U0123ABCD"}}}, "teams.t.channel: 'U0123ABCD' is not a Slack channel id"),
        ({"teams": {"t": {}}, "agents": [{"slack_id": "U1234567", "name": "A", "email": "a@x", "team": "t",
                                          "working_hours": "9-5"}]},
         "agents[0].working_hours: '9-5' is not HH:MM-HH:MM, e.g. 09:00-17:30"),
        ({"patterns": [{"name": "x", "regex": "(", "category": "bug", "type": "bug"}]},
         "patterns[0].regex: regex does not compile"),
        ({"patterns": [{"name": "x", "regex": "a", "category": "bugs", "type": "bug"}]},
         "patterns[0].category: Input should be"),
        ({"canned_responses": [{"name": "x", "content": "Hi {customer_nam}"}]},
         "unknown variable(s) {customer_nam}"),
        ({"sla": {"critical": {"free": [3000, 100]}}}, "sla.critical.free: first_response is longer than resolution"),
        ({"founder": {"name": "M", "phone": "07700 900001"}}, "founder.phone: String should match pattern"),
        ({"compnay": "typo"}, "compnay: unknown key; remove it or check its spelling"),
    ],
    ids=["agent in unknown team", "channel that is not an id", "a #channel name", "a member id for a channel",
         "bad working hours", "regex that does not compile",
         "unknown category", "unknown template variable", "sla cell upside down", "phone not E.164", "typo key"],
)
def test_config_mistakes_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        build_config(data)
    assert message in str(caught.value)
