"""``breachradar doctor`` asks the fake Discord about the bot token, over REST only."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.service.doctor import OK, PROBLEM, WARNING, Finding, discord_bot
from bot.settings import Config
from tests.support.cli import REPO, cli_env
from tests.support.fake_discord import FakeDiscord
from tests.support.scenario import load, write_config

TOKEN = "MTI5MDAwMTEyMjMzNDQ1NTY2Nw.GhOst1.good-token-for-the-fake"
GATEWAY_PRESENCE = 1 << 12
GATEWAY_GUILD_MEMBERS = 1 << 14


def configured(tmp_path: Path, fake: FakeDiscord, token: str | None = TOKEN) -> Config:
    cfg = write_config(
        tmp_path / "c",
        sources="",
        settings=f'discord_api_url = "{fake.api_url}"\ndiscord_gateway_url = "{fake.gateway_url}"\n',
    )
    return load(cfg, f"sqlite:///{tmp_path / 'br.db'}", {"DISCORD_TOKEN": token} if token else {})


def findings(found: list[Finding]) -> dict[str, Finding]:
    return {f"{f.check} {f.subject}": f for f in found}


async def test_an_accepted_token_and_the_intents_the_bot_needs(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.tokens = {TOKEN}
    # The operator switched presences on in the Developer Portal; the bot does not use it.
    fake.application_flags = GATEWAY_PRESENCE
    found = findings(await discord_bot(configured(tmp_path, fake), 10))
    token = found["discord bot token"]
    assert token.status == OK
    assert token.detail.startswith("accepted: BreachRadar")
    assert "application 'BreachRadar'" in token.detail
    intents = found["intents gateway"]
    assert intents.status == OK
    assert intents.detail.startswith(
        "the bot asks for guilds only (Intents.none() + guilds): no privileged intent needed"
    )
    assert "enabled but unused: presences" in intents.detail
    assert intents.facts == {"requested": ["guilds"], "privileged_enabled": ["presences"]}
    # REST only: doctor never opens a gateway session (each one counts against a daily limit).
    assert fake.gateway_connections == 0
    asked = [(r.method, r.path) for r in fake.received()]
    assert ("GET", "/users/@me") in asked and ("GET", "/oauth2/applications/@me") in asked


async def test_a_refused_token_says_where_to_get_a_new_one(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake_discord.tokens = {"the-real-token"}
    [finding] = await discord_bot(configured(tmp_path, fake_discord), 10)
    assert finding.status == PROBLEM
    assert finding.detail == "Discord refused the token (401 Unauthorized)"
    assert finding.fix is not None and "Reset Token" in finding.fix


async def test_a_user_token_and_no_sessions_left_are_problems(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.bot_user = False
    fake.session_starts_remaining = 0
    fake.application_flags = GATEWAY_GUILD_MEMBERS
    found = findings(await discord_bot(configured(tmp_path, fake), 10))
    assert found["discord bot token"].status == PROBLEM
    assert "user account" in found["discord bot token"].detail
    assert found["discord gateway"].status == PROBLEM
    assert "no gateway session starts left" in found["discord gateway"].detail
    assert "members" in found["intents gateway"].detail  # enabled, unused


async def test_no_token_is_skipped_not_a_problem(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    [finding] = await discord_bot(configured(tmp_path, fake_discord, token=None), 10)
    assert finding.status == "skipped"
    assert fake_discord.received() == []


async def test_the_command_never_prints_the_token(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.tokens = {"another-token"}
    cfg = write_config(tmp_path / "c", sources="", settings="")
    env = cli_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "BREACHRADAR_DISCORD_API_URL": fake.api_url,
            "BREACHRADAR_DISCORD_GATEWAY_URL": fake.gateway_url,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", "--json", "--config", str(cfg),
        "--db", f"sqlite:///{tmp_path / 'br.db'}", "--deadline", "10",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, err.decode()
    assert TOKEN not in out.decode() + err.decode()
    report = json.loads(out)
    statuses = {(c["check"], c["subject"]): c["status"] for c in report["checks"]}
    assert statuses[("discord", "bot token")] == PROBLEM
    assert statuses[("source", "sources.toml")] == WARNING  # nothing enabled
    assert report["ok"] is False and report["problems"] == 1
