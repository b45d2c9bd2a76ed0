"""Company names as server admins type them: cleaned, split, or refused with a reason."""

from __future__ import annotations

import re

NAME_MAX = 100


class SubscriptionError(ValueError):
    """A request a server made that cannot be done; the message is shown to the user."""


def clean_name(raw: str) -> str:
    """Return a company name fit to store, or raise :class:`SubscriptionError`."""
    # Quotes and spaces come off together: '0 "' must not keep the space the quote hid.
    name = re.sub(r"\s+", " ", raw or "").strip(" \"'")
    if not name:
        raise SubscriptionError("The company name is empty.")
    if len(name) > NAME_MAX:
        raise SubscriptionError(f"The company name is longer than {NAME_MAX} characters.")
    if not any(ch.isalnum() for ch in name):
        raise SubscriptionError("The company name needs at least one letter or digit.")
    if re.search(r"@(everyone|here)|<[@#]", name):
        raise SubscriptionError("The company name cannot contain mentions.")
    return name


def split_list(raw: str | None) -> tuple[str, ...]:
    """Split a comma-separated option into clean, distinct items."""
    if not raw:
        return ()
    items = [re.sub(r"\s+", " ", part).strip() for part in raw.split(",")]
    return tuple(dict.fromkeys(i for i in items if i))
