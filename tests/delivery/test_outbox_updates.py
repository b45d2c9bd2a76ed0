"""How the outbox treats updates to an incident, per target."""

from __future__ import annotations

import httpx

from bot.delivery import Outbox, WebhookSink
from bot.store import Store
from tests.support.factories import story
from tests.support.localserver import DiscordWebhook, LocalServer


async def test_an_update_to_a_target_that_never_had_the_alert_announces_it(
    db_url: str, receiver: LocalServer
) -> None:
    """A target whose first row for an incident is an update gets it as the alert, not nothing."""
    hook = DiscordWebhook(receiver)
    store = await Store.open(db_url)
    try:
        first = story(1, "MoneyGram confirms cyberattack behind outage")
        await store.add_disclosures([first])
        incident, created = await store.record_match(
            first,
            company_key="moneygram",
            company_name="MoneyGram",
            matched=[],
            reason="",
            incident_id=None,
        )
        assert created
        payload = {"kind": "update", "company": "MoneyGram", "title": first.title, "url": first.url}
        await store.enqueue(
            "webhook:ops",
            incident_id=incident,
            disclosure_id=first.identity,
            payload=payload,
            kind="update",
        )
        async with httpx.AsyncClient() as client:
            outbox = Outbox(store, {"webhook:ops": WebhookSink(hook.url, "ops", client)})
            assert (await outbox.flush()).sent == 1
        (message,) = hook.messages.values()
        assert message["embeds"][0]["title"] == "MoneyGram confirms cyberattack behind outage"
    finally:
        await store.close()


async def test_an_update_edits_the_alert_the_target_already_has(
    db_url: str, receiver: LocalServer
) -> None:
    """After the alert went out, a later disclosure edits it and posts nothing new."""
    hook = DiscordWebhook(receiver)
    store = await Store.open(db_url)
    try:
        first, later = (
            story(1, "Casio reports IT systems failure"),
            story(2, "Casio confirms ransomware attack"),
        )
        await store.add_disclosures([first, later])
        incident, _ = await store.record_match(
            first,
            company_key="casio",
            company_name="Casio",
            matched=[],
            reason="",
            incident_id=None,
        )
        await store.record_match(
            later,
            company_key="casio",
            company_name="Casio",
            matched=[],
            reason="",
            incident_id=incident,
        )
        base = {"company": "Casio", "url": first.url}
        await store.enqueue(
            "webhook:ops", incident_id=incident, disclosure_id=first.identity,
            payload={**base, "kind": "alert", "title": first.title},
        )  # fmt: skip
        await store.enqueue(
            "webhook:ops", incident_id=incident, disclosure_id=later.identity,
            payload={**base, "kind": "update", "title": later.title}, kind="update",
        )  # fmt: skip
        async with httpx.AsyncClient() as client:
            outbox = Outbox(store, {"webhook:ops": WebhookSink(hook.url, "ops", client)})
            assert (await outbox.flush()).sent == 2
        assert len(hook.posts()) == 1
        assert len(hook.edits()) == 1
        (message,) = hook.messages.values()
        assert message["embeds"][0]["title"].endswith("Casio confirms ransomware attack")
    finally:
        await store.close()
