"""Slash commands, run by the real discord.py client against the fake Discord."""

from __future__ import annotations

from tests.discord.conftest import Harness


async def test_watch_add_subscribes_this_channel(running: Harness) -> None:
    """/watch add company subscribes the current channel and says so, ephemerally."""
    h = running
    answer = await h.fake.slash(
        h.guild_a,
        h.alerts_a,
        "watch",
        "add",
        options={"company": "ticketmaster"},
        manage_guild=True,
    )
    assert answer.ephemeral()
    assert "now watches **Ticketmaster**" in answer.text()
    (sub,) = await h.subs.for_guild(h.guild_a.id)
    assert (sub.channel_id, sub.company_name) == (h.alerts_a.id, "Ticketmaster")
