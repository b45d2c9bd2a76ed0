"""The bot's gateway connection survives reconnects, drops and invalidated sessions."""

from __future__ import annotations

from tests.discordbot.conftest import Harness


async def still_answers(h: Harness) -> None:
    answer = await h.fake.slash(h.guild_a, h.general_a, "lookup", options={"company": "Casio"})
    assert "Nothing in the database" in answer.text()


async def test_reconnect_request_resumes_the_session(running: Harness) -> None:
    """On op 7 the bot reconnects and RESUMEs instead of identifying again."""
    h = running
    await h.fake.send_reconnect()
    await h.fake.wait_until(lambda: h.fake.resumes == 1)
    assert h.fake.identifies == 1
    assert h.fake.gateway_connections == 2
    await still_answers(h)


async def test_dropped_connection_resumes(running: Harness) -> None:
    """When the socket closes abnormally the bot comes back on the same session."""
    h = running
    await h.fake.drop_connection()
    await h.fake.wait_until(lambda: h.fake.resumes == 1)
    assert h.fake.identifies == 1
    await still_answers(h)


async def test_invalid_session_identifies_again(running: Harness) -> None:
    """A session Discord invalidates is replaced by a fresh IDENTIFY."""
    h = running
    await h.fake.invalidate_session()
    await h.fake.connected(count=2)
    assert h.fake.resumes == 0
    await still_answers(h)


async def test_missed_events_are_replayed_on_resume(running: Harness) -> None:
    """A command used while the bot was away is answered after it resumes."""
    h = running
    await h.fake.drop_connection()
    # Discord keeps the event for the session; the bot gets it when it resumes.
    pending = await h.fake.slash(
        h.guild_a, h.general_a, "lookup", options={"company": "KADOKAWA"}, wait=False
    )
    await h.fake.answered(pending)
    assert h.fake.resumes == 1 and h.fake.identifies == 1
    assert "Nothing in the database" in pending.text()
