"""A delivery-only process sends the targets it has sinks for and leaves the others alone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery import LogSink, Outbox
from bot.store import Store
from scrapers.models import Disclosure

T0 = datetime(2024, 9, 24, 18, 0, tzinfo=UTC)


async def test_a_webhook_only_outbox_leaves_channel_alerts_for_the_bot(any_db_url: str) -> None:
    """Channel alerts stay pending and untouched for the process that has the Discord client."""
    store = await Store.open(any_db_url, create=False)
    await store.create_schema()
    try:
        item = Disclosure(
            source="the-record",
            title="MoneyGram says cyberattack disrupted money transfers worldwide",
            url="https://therecord.media/moneygram-cyberattack-disrupted-transfers",
        )
        await store.add_disclosures([item], now=T0)
        incident, _ = await store.record_match(
            item, company_key="moneygram", company_name="MoneyGram", matched=["MoneyGram"],
            reason="names 'MoneyGram'", incident_id=None, now=T0,
        )  # fmt: skip
        for target in ("channel:1290001122334455667", "webhook:soc"):
            await store.enqueue(
                target, incident_id=incident, disclosure_id=item.identity, payload={}, now=T0
            )
        outbox = Outbox(store, {"webhook:soc": LogSink()}, owner="d1", target_prefix="webhook:")
        report = await outbox.flush()
        assert (report.sent, report.retried) == (1, 0)
        [left] = await store.claim_due(owner="bot", now=T0)
        assert left.target == "channel:1290001122334455667" and left.attempts == 0
    finally:
        await store.close()
