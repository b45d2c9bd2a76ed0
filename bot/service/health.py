"""Is this process well: its database answers, its scheduler ticks, its bot is connected.

What ``GET /healthz`` answers. Each check names the part it looks at, so a failing
answer says which part is wrong. Time is the service's own clock (``Service.monotonic``),
which a test replaces to stall the scheduler rather than wait for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.service.scheduler import Service
from bot.store import Store

if TYPE_CHECKING:
    from bot.discordbot import BreachRadarBot

# A database slower than this to answer "SELECT 1" is as good as gone for an alerting
# service.
DATABASE_DEADLINE = 5.0
# The scheduler must have fired each job within this many of its intervals.
TICKS_ALLOWED = 2


@dataclass(frozen=True, slots=True)
class Report:
    """The health of the process: ok, and what each part said."""

    ok: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failing(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]

    def as_json(self, role: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "failing", "role": role}
        if not self.ok:
            body["failing"] = self.failing
        body["checks"] = self.checks
        return body


class Health:
    """The checks of one service process."""

    def __init__(
        self,
        store: Store,
        service: Service,
        *,
        bot: BreachRadarBot | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.bot = bot

    async def check(self) -> Report:
        checks = {"database": await self.database(), "scheduler": self.scheduler()}
        if self.bot is not None:
            checks["discord"] = self.discord()
        return Report(all(c["ok"] for c in checks.values()), checks)

    async def database(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(DATABASE_DEADLINE):
                await self.store.ping()
        except TimeoutError:
            return {"ok": False, "error": f"no answer within {DATABASE_DEADLINE:g}s"}
        except Exception as exc:
            return {"ok": False, "error": describe_error(exc)}
        return {"ok": True, "dialect": self.store.dialect}

    def scheduler(self) -> dict[str, Any]:
        service = self.service
        if service.scheduler is None or service.started_at is None:
            return {"ok": False, "error": "not started"}
        if not service.scheduler.running:
            return {"ok": False, "error": "stopped"}
        now = service.monotonic()
        jobs: dict[str, Any] = {}
        late: list[str] = []
        for job, every in service.job_intervals.items():
            # Before its first run a job counts from the scheduler's start.
            last = service.beats.get(job, service.started_at)
            ago = max(0.0, now - last)
            jobs[job] = {"every_seconds": every, "last_tick_seconds_ago": round(ago, 3)}
            if ago > TICKS_ALLOWED * every:
                late.append(f"{job} last ticked {ago:.0f}s ago (every {every:g}s)")
        if late:
            return {"ok": False, "error": "; ".join(late), "jobs": jobs}
        return {"ok": True, "jobs": jobs}

    def discord(self) -> dict[str, Any]:
        from bot.discordbot import connection_problem

        assert self.bot is not None
        problem = connection_problem(self.bot)
        if problem is not None:
            return {"ok": False, "error": problem}
        return {"ok": True, "guilds": len(self.bot.guilds)}


def describe_error(exc: BaseException) -> str:
    """An error in one short line, without a URL's password (drivers do not print one)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    name = type(original).__name__
    return f"{name}: {text[:200]}" if text else name
