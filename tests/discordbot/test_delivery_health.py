"""Channel delivery through the real bot and the fake Discord: outages, gone channels,
failing edits, and what ``/alerts status`` tells a server about its own channels."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.clock import utcnow
from bot.delivery import Outbox
from bot.discordbot.channel_sink import ChannelSink
from bot.store import Store
from scrapers.models import Evidence
from tests.discordbot.conftest import Harness
from tests.support.alerts import queue_alert
from tests.support.crashrig import COMPANIES

PROMISE = 15.0


def outbox_for(h: Harness, **options: object) -> Outbox:
    assert h.bot is not None
    sink = ChannelSink(h.bot, h.subs)
    return Outbox(h.store, {}, routes={"channel:": sink}, **options)  # type: ignore[arg-type]


def links_in(h: Harness, channel_id: int) -> list[str]:
    channel = h.fake.channel(channel_id)
    assert channel is not None
    return [m["embeds"][0]["url"] for m in channel.messages]


async def subscribe(h: Harness) -> tuple[str, str]:
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "MoneyGram")
    await h.subs.subscribe(h.guild_b.id, h.news_b.id, "MoneyGram")
    return f"channel:{h.alerts_a.id}", f"channel:{h.news_b.id}"


async def test_a_discord_outage_of_two_simulated_hours_then_everything_once_in_order(
    running: Harness,
) -> None:
    """Discord answers 503 to one channel for two hours (simulated; the first refusal
    after storing the message, as Discord sometimes does): the other server's channel
    gets everything meanwhile; one probe at a time; then the whole queue arrives in order
    and, thanks to the nonce, exactly once."""
    h = running
    mine, theirs = await subscribe(h)
    t0 = utcnow()
    links = [(await queue_alert(h.store, [mine, theirs], c, now=t0))[1] for c in COMPANIES[:4]]
    path = rf"/channels/{h.alerts_a.id}/messages"
    h.fake.fail("POST", path, 503, commit=True)
    h.fake.fail("POST", path, 503, times=1000)
    outbox = outbox_for(h, inline_retries=0)
    clock = t0
    flushes = 0
    while clock < t0 + timedelta(hours=2):
        await outbox.flush(now=clock)
        flushes += 1
        due = await h.store.next_due_at(target_prefix="channel:")
        assert due is not None and due - clock <= timedelta(seconds=PROMISE)
        clock += timedelta(minutes=10)
    assert links_in(h, h.news_b.id) == links
    tried = h.fake.received("POST", path)
    assert len(tried) == flushes
    assert {r.body["embeds"][0]["url"] for r in tried} == {links[0]}
    status = await h.fake.slash(h.guild_a, h.general_a, "alerts", "status", manage_guild=True)
    text = status.text()
    assert "Discord refuses for now (503" in text and "4 queued" in text
    assert str(h.news_b.id) not in text  # another server's channel is not shown
    for fault in h.fake.faults:
        fault.times = 0
    due = await h.store.next_due_at(target_prefix="channel:")
    assert due is not None
    report = await outbox.flush(now=due)
    assert report.sent == 4 and report.recovered == 1
    assert links_in(h, h.alerts_a.id) == links  # once each: the stored one was not repeated
    nonces = [r.body["nonce"] for r in h.fake.received("POST", path)]
    assert nonces.count(nonces[0]) == flushes + 1 and len(set(nonces)) == 4
    text = (await h.fake.slash(h.guild_a, h.general_a, "alerts", "status")).text()
    assert "ok; 0 queued" in text and "last delivered <t:" in text


async def test_a_channel_closed_to_the_bot_gives_up_until_fixed_and_retried(
    running: Harness,
) -> None:
    """A 403 Missing Permissions: the channel's alerts are given up after one request and
    shown with the reason; /alerts retry says what is still wrong, and once the server
    fixed the permissions it sends them."""
    h = running
    mine, _ = await subscribe(h)
    h.alerts_a.writable = False
    await h.fake.dispatch_event("CHANNEL_UPDATE", h.guild_a.channel_payload(h.alerts_a))
    links = [(await queue_alert(h.store, [mine], c))[1] for c in COMPANIES[:3]]
    outbox = outbox_for(h)
    report = await outbox.flush()
    assert report.dead == 3 and report.sent == 0
    assert len(h.fake.received("POST", rf"/channels/{h.alerts_a.id}/messages")) == 1
    text = (await h.fake.slash(h.guild_a, h.general_a, "alerts", "status")).text()
    # Discord's answer, its markdown escaped.
    assert "3 given up: 403 Missing Permissions \\(50013\\)" in text
    assert "paused: the bot may not post or embed in the channel" in text
    still = await h.fake.slash(h.guild_a, h.general_a, "alerts", "retry", manage_guild=True)
    assert "Still not fixed" in still.text() and "lacks send messages" in still.text()
    h.alerts_a.writable = True
    await h.fake.dispatch_event("CHANNEL_UPDATE", h.guild_a.channel_payload(h.alerts_a))
    await asyncio.sleep(0)  # let the client take the update in
    answer = await h.fake.slash(
        h.guild_a, h.general_a, "alerts", "retry", options={"channel": h.alerts_a},
        manage_guild=True,
    )  # fmt: skip
    assert "3 alerts queued again" in answer.text()
    assert (await outbox.flush()).sent == 3
    assert links_in(h, h.alerts_a.id) == links
    nobody = await h.fake.slash(h.guild_a, h.general_a, "alerts", "retry", manage_guild=False)
    assert "Manage Server" in nobody.text()


async def test_a_failing_edit_holds_back_no_new_channel_alert(running: Harness) -> None:
    """Discord refuses the edit of an alert for a while: the next alert is posted at once,
    the edit lands later on the original message, and nothing is posted twice."""
    h = running
    mine, _ = await subscribe(h)
    incident, moneygram = await queue_alert(h.store, [mine], "MoneyGram")
    outbox = outbox_for(h)
    await outbox.flush()
    (original,) = h.fake.channel(h.alerts_a.id).messages  # type: ignore[union-attr]
    edit_path = rf"/channels/{h.alerts_a.id}/messages/{original['id']}"
    h.fake.fail("PATCH", edit_path, 503, times=1000)
    await queue_alert(h.store, [mine], "MoneyGram", n=1, incident=incident,
                      evidence=Evidence.CONFIRMED)  # fmt: skip
    await h.subs.subscribe(h.guild_a.id, h.alerts_a.id, "Change Healthcare")
    _, change = await queue_alert(h.store, [mine], "Change Healthcare")
    now = utcnow()
    report = await outbox.flush(now=now)
    assert report.sent == 1 and report.down == 0
    assert links_in(h, h.alerts_a.id) == [moneygram, change]
    [status] = await h.store.target_status(targets=[mine], now=now)
    assert (status.state, status.queued, status.waiting) == ("up", 1, 1)
    for fault in h.fake.faults:
        fault.times = 0
    assert status.next_attempt_at is not None
    assert (await outbox.flush(now=status.next_attempt_at)).sent == 1
    messages = h.fake.channel(h.alerts_a.id).messages  # type: ignore[union-attr]
    assert len(messages) == 2 and messages[0]["edits"] == 1
    assert messages[0]["embeds"][0]["title"].startswith("Update: ")


async def test_status_is_for_the_servers_own_channels(running: Harness, store: Store) -> None:
    """A server with nothing delivered yet hears so; it never sees another server's."""
    h = running
    _, theirs = await subscribe(h)
    await queue_alert(h.store, [theirs], "MoneyGram")
    await outbox_for(h).flush()
    await h.subs.unsubscribe(h.guild_a.id, "MoneyGram")
    text = (await h.fake.slash(h.guild_a, h.general_a, "alerts", "status")).text()
    assert text == "No alerts for this server's channels yet."
    theirs_text = (await h.fake.slash(h.guild_b, h.news_b, "alerts", "status")).text()
    assert f"<#{h.news_b.id}>: ok; 0 queued" in theirs_text
