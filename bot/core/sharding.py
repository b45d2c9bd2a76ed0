"""Which Discord servers a bot process serves when the bot runs in shards.

Discord assigns every guild to one shard: ``(guild_id >> 22) % shard_count``. A process
that runs some of the shards receives the gateway events (and slash commands) of those
shards' guilds only, so it also delivers their alerts, sends their digests and polls their
own feeds; the other guilds are left to the processes running the other shards.
"""

from __future__ import annotations

from dataclasses import dataclass

# Discord's limit is far lower; this only stops a typo from starting thousands of shards.
MAX_SHARDS = 16384


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord assigns ``guild_id`` to among ``shard_count`` shards."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class Sharding:
    """How this process connects: ``count`` None asks Discord for its recommended count.

    ``ids`` None runs every shard of the count in this process.
    """

    count: int | None
    ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.count is not None and not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"the shard count must be between 1 and {MAX_SHARDS}")
        if self.ids is None:
            return
        if self.count is None:
            raise ValueError("shard ids need a shard count (a number, not auto)")
        if not self.ids:
            raise ValueError("give at least one shard id")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("a shard id is listed twice")
        wrong = [i for i in self.ids if not 0 <= i < self.count]
        if wrong:
            raise ValueError(
                f"shard id {wrong[0]} is out of range: ids go from 0 to {self.count - 1}"
            )

    @property
    def partial(self) -> bool:
        """Whether other processes run some of the shards (so guilds must be filtered)."""
        return self.ids is not None and set(self.ids) != set(range(self.count or 0))

    def owner(self) -> ShardSet | None:
        """The guilds this process serves; None when it serves every guild."""
        if not self.partial:
            return None
        assert self.count is not None and self.ids is not None
        return ShardSet(self.count, self.ids)

    def describe(self) -> str:
        if self.count is None:
            return "shards: Discord's recommended count, all in this process"
        if self.ids is None:
            return f"shards: all {self.count} in this process"
        return f"shards {', '.join(map(str, self.ids))} of {self.count}"


@dataclass(frozen=True, slots=True)
class ShardSet:
    """Some shards out of ``count``: the guilds one process serves."""

    count: int
    ids: tuple[int, ...]

    def owns(self, guild_id: int | None) -> bool:
        """Whether ``guild_id`` is on one of these shards.

        Something with no known guild (an alert queued for a channel whose subscription
        was removed meanwhile) belongs to the process running shard 0, so exactly one
        process takes it.
        """
        if guild_id is None:
            return 0 in self.ids
        return shard_of(guild_id, self.count) in self.ids


def parse_shard_count(raw: object) -> int | None:
    """``"auto"`` (None: ask Discord) or a positive number of shards."""
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return None
    if isinstance(raw, bool):
        raise ValueError(f"must be a number of shards or 'auto', not {raw!r}")
    try:
        count = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except ValueError:
        raise ValueError(f"must be a number of shards or 'auto', not {raw!r}") from None
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"must be between 1 and {MAX_SHARDS}, not {count}")
    return count


def parse_shard_ids(raw: object) -> tuple[int, ...]:
    """Shard ids as ``"0,1,4"``, ``"0-3"`` ranges, or a list of numbers."""
    parts: list[object]
    if isinstance(raw, str):
        parts = [p.strip() for p in raw.split(",") if p.strip()]
    elif isinstance(raw, list | tuple):
        parts = list(raw)
    else:
        raise ValueError(f"must be a list of shard ids such as 0,1 or 0-3, not {raw!r}")
    ids: list[int] = []
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            ids.append(part)
            continue
        text = str(part).strip()
        low, dash, high = text.partition("-")
        try:
            if dash:
                start, end = int(low), int(high)
                if end < start:
                    raise ValueError
                ids.extend(range(start, end + 1))
            else:
                ids.append(int(text))
        except ValueError:
            raise ValueError(f"{text!r} is not a shard id or a range such as 0-3") from None
    if not ids:
        raise ValueError("give at least one shard id")
    return tuple(ids)
