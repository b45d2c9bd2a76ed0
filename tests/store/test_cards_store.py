"""What the store keeps for incident cards, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import create_async_engine

from bot.core.cards import CardFilter, extract, extraction_to_dict
from bot.store import Store, migrate
from scrapers.models import Evidence
from tests.support.factories import casio

WHEN = datetime(2024, 10, 10, 9, tzinfo=UTC)


async def _incident(store: Store, *items: object) -> int:
    disclosures = list(items)
    incident: int | None = None
    for n, item in enumerate(disclosures):
        await store.add_disclosures([item], now=WHEN.replace(minute=n))  # type: ignore[list-item]
        incident, _ = await store.record_match(
            item,  # type: ignore[arg-type]
            company_key="casio", company_name="Casio", matched=["Casio"], reason="",
            incident_id=incident,
        )  # fmt: skip
    assert incident is not None
    return incident


async def test_a_disclosures_card_is_kept_once_and_read_with_its_incident(store: Store) -> None:
    """save_cards writes the extraction the first time only; sightings_of returns it with
    the evidence, source and dates the card needs, oldest first."""
    first, confirmed = casio(1), casio(2, evidence=Evidence.CONFIRMED, source="casio-newsroom")
    incident = await _incident(store, first, confirmed)
    card = extraction_to_dict(extract(first.title, first.summary))
    await store.save_cards({first.identity: card})
    await store.save_cards({first.identity: {"attack": "ddos"}})  # a redo never overwrites
    assert await store.cards_of([first.identity, confirmed.identity]) == {first.identity: card}
    rows = (await store.sightings_of([incident]))[incident]
    assert [(r["source"], r["evidence"], r["card"]) for r in rows] == [
        ("the-record", "reported", card),
        ("casio-newsroom", "confirmed", None),
    ]
    assert rows[0]["company"] == "Casio" and rows[0]["published"] == first.published


async def test_a_channels_card_filter_is_saved_read_and_cleared(store: Store) -> None:
    """filter_of and channel_filters read what save_filter wrote; an empty filter removes it."""
    wanted = CardFilter(5_000, frozenset({"health", "government_id"}), "alert")
    await store.guilds.save_filter(11, 22, wanted, by=33, now=WHEN)
    await store.guilds.save_filter(11, 23, CardFilter(100), by=33, now=WHEN)
    assert await store.guilds.filter_of(22) == wanted
    assert await store.guilds.channel_filters() == {22: wanted, 23: CardFilter(100)}
    await store.guilds.save_filter(11, 22, CardFilter(), by=33, now=WHEN)
    assert await store.guilds.filter_of(22) is None
    assert set(await store.guilds.channel_filters()) == {23}


async def test_targets_of_names_who_was_told_of_an_incident(store: Store) -> None:
    """A target with any live row for the incident hears its updates; a dead row does not count."""
    item = casio(1)
    incident = await _incident(store, item)
    for target in ("webhook:soc", "channel:42"):
        await store.enqueue(
            target, incident_id=incident, disclosure_id=item.identity, payload={}, now=WHEN
        )
    (dead,) = [d for d in await store.claim_due(owner="t", now=WHEN) if d.target == "channel:42"]
    await store.mark_retry(dead.id, "gone", retry_at=WHEN, dead=True)
    assert await store.targets_of(incident) == {"webhook:soc"}


async def test_upgrading_a_database_of_the_previous_release_keeps_its_disclosures(
    any_db_url: str,
) -> None:
    """Revision 0007_cards adds the card column (empty for old rows) and the filters table."""
    from sqlalchemy import select

    from bot.store.schema import channel_filters, disclosures

    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine, "0006_source_display_names")
        async with engine.begin() as conn:
            await conn.execute(
                disclosures.insert().values(
                    id="d1", source="the-record", url="https://therecord.media/1", url_key="k1",
                    title="Casio ransomware attack", summary="", first_seen=WHEN,
                    evidence="reported",
                )
            )  # fmt: skip
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(disclosures.c.id, disclosures.c.card))).all()
            assert [tuple(r) for r in rows] == [("d1", None)]
            assert (await conn.execute(select(channel_filters))).all() == []
        assert await migrate.current_revision(engine) == "0007_cards"
    finally:
        await engine.dispose()
