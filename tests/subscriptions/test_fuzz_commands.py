"""Property tests on what slash-command arguments go through before anything is stored."""

from __future__ import annotations

import asyncio
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.store import Store
from bot.subscriptions import NAME_MAX, SubscriptionError, Subscriptions, clean_name, split_list

# Text a user can type or paste: any characters, mention forms and CSV punctuation.
typed = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.sampled_from(["@everyone", "@here", "<@&1>", "<#2>", ",", '"', "\n", "\u202e"]),
    ),
    max_size=12,
).map("".join)


@example('0\n"')
@example("' Casio '")
@given(typed)
def test_a_company_name_is_clean_or_refused_with_a_reason(raw: str) -> None:
    """Any input yields a storable name or a SubscriptionError that says why."""
    try:
        name = clean_name(raw)
    except SubscriptionError as exc:
        assert str(exc).endswith(".")
        return
    assert name == name.strip() and 0 < len(name) <= NAME_MAX
    assert any(ch.isalnum() for ch in name)
    assert not re.search(r"@(everyone|here)|<[@#]", name)


@given(typed)
def test_a_comma_list_splits_into_distinct_trimmed_items(raw: str) -> None:
    items = split_list(raw)
    assert len(items) == len(set(items))
    assert all(item and item == item.strip() and "," not in item for item in items)


@settings(max_examples=25, deadline=None)
@given(st.lists(typed, max_size=40))
def test_an_imported_vendor_file_accounts_for_every_line(lines: list[str]) -> None:
    """Each vendor line is added or skipped with a reason; nothing else happens."""

    async def run() -> None:
        store = await Store.open("sqlite+aiosqlite://")
        try:
            subs = Subscriptions(store)
            report = await subs.import_text(1, 10, "\n".join(lines))
            watched = {s.company_name for s in await subs.for_guild(1)}
            assert set(report.added) == watched
            assert all(reason for _, reason in report.skipped)
            assert await subs.for_guild(2) == []  # another server sees nothing
        finally:
            await store.close()

    asyncio.run(run())
