"""Several scraper and delivery processes share one PostgreSQL and survive a SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import migrate
from tests.support.farm import AlertReceiver, FeedFarm
from tests.support.localserver import LocalServer

ROOT = Path(__file__).resolve().parents[2]
SOURCES = 6
INTERVAL = 2.0  # seconds between two polls of one source
LEASE = 3.0  # a dead process's claims free up after this

# Companies of real incidents 2023-2025; each alert below is about a different one, so
# every item opens its own incident and is one webhook message.
COMPANIES = [
    ("Casio", "Casio confirms ransomware attack exposed personal data of employees"),
    ("MoneyGram", "MoneyGram says hackers stole customer data in September cyberattack"),
    ("Change Healthcare", "Change Healthcare ransomware attack disrupts pharmacies nationwide"),
    ("Ticketmaster", "Ticketmaster confirms data breach after hackers list stolen data"),
    ("AT&T", "AT&T says hackers stole call records of nearly all customers in breach"),
    ("23andMe", "23andMe data breach: hackers accessed ancestry data of 6.9 million users"),
    ("Kadokawa", "Kadokawa confirms BlackSuit ransomware attack behind Niconico outage"),
    ("Marks and Spencer", "Marks and Spencer confirms customer data stolen in cyberattack"),
    ("Co-op", "Co-op says hackers accessed member data in cyberattack"),
    ("Harrods", "Harrods says threat actors accessed customer data in new breach"),
    ("MGM Resorts", "MGM Resorts says ransomware attack cost it $100 million"),
    ("Caesars Entertainment", "Caesars Entertainment paid ransom after data breach"),
    ("Clorox", "Clorox says cyberattack caused product shortages"),
    ("Johnson Controls", "Johnson Controls confirms ransomware attack encrypted systems"),
    ("Rite Aid", "Rite Aid confirms data breach after RansomHub extortion"),
    ("Hot Topic", "Hot Topic data breach exposed 56 million customers"),
    ("Advance Auto Parts", "Advance Auto Parts confirms data breach of Snowflake account"),
    ("Neiman Marcus", "Neiman Marcus data breach affects 31 million customers"),
    ("CDK Global", "CDK Global ransomware attack halts car dealerships"),
    ("Synnovis", "Synnovis confirms ransomware attack stole patient data"),
    ("loanDepot", "loanDepot says ransomware attack exposed data of 16.6 million"),
    ("Frontier Communications", "Frontier Communications data breach hits 750,000 customers"),
    ("Dell", "Dell warns of data breach affecting 49 million customers"),
    ("Xfinity", "Xfinity discloses data breach after Citrix Bleed attack"),
]


def _watchlist() -> str:
    return "".join(f'[[companies]]\nname = "{name}"\n\n' for name, _ in COMPANIES)


def _config(directory: Path, farm: FeedFarm, hook: AlertReceiver) -> Path:
    directory.mkdir()
    sources = "".join(
        f'[[sources]]\nname = "feed-{n}"\nkind = "rss"\nurl = "{farm.url(n)}"\n'
        f'every = "{INTERVAL:g}s"\n\n'
        for n in range(SOURCES)
    )
    (directory / "sources.toml").write_text(sources, encoding="utf-8")
    (directory / "watchlist.toml").write_text(_watchlist(), encoding="utf-8")
    (directory / "settings.toml").write_text(
        'allow_private_addresses = true\nmax_alert_age = "none"\njitter = 0\n'
        f'[[webhooks]]\nurl = "{hook.url}"\nname = "soc"\n',
        encoding="utf-8",
    )
    return directory


class Fleet:
    """The service processes of one test, each named in its User-Agent."""

    def __init__(self, config: Path, db: str, logs: Path) -> None:
        self.config = config
        self.db = db
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, role: str, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
        env.update(PYTHONPATH=str(ROOT), BREACHRADAR_USER_AGENT=f"BreachRadar-test ({name})")
        log = (self.logs / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--role", role, "--config", str(self.config),
             "--db", self.db, "--lease", str(LEASE), *extra],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def stop(self) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def fleet(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Fleet, LocalServer]]:
    engine = create_async_engine(postgres_url)

    async def prepare() -> None:
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    server = LocalServer().start()
    fleet = Fleet(tmp_path / "config", postgres_url, tmp_path)
    yield fleet, server
    fleet.stop()
    server.stop()


@pytest.mark.slow
@pytest.mark.postgres
def test_scrapers_and_deliverers_share_the_work_and_survive_a_kill(
    tmp_path: Path, fleet: tuple[Fleet, LocalServer]
) -> None:
    """Three scrapers and two deliverers, one of each SIGKILLed mid-work: every alert arrives
    exactly once and no source is polled twice within its interval."""
    procs, server = fleet
    farm = FeedFarm(server, SOURCES)
    hook = AlertReceiver(server)
    _config(procs.config, farm, hook)
    when = datetime(2024, 10, 11, 12, 0, tzinfo=UTC)
    pending = iter(COMPANIES)
    expected: list[str] = []

    def publish(n: int) -> None:
        company, title = next(pending)
        slug = company.lower().replace(" ", "-").replace("&", "and")
        farm.publish(n, title, f"https://therecord.media/{slug}-breach", when)
        expected.append(title)

    for n in range(SOURCES):
        publish(n)
    for n in (1, 2, 3):
        procs.start(f"scraper-{n}", "scraper")
    for n in (1, 2):
        procs.start(f"delivery-{n}", "delivery", "--deliver-every", "0.5")
    assert hook.wait_accepted(len(expected)), procs.log("delivery-1")

    # Kill scraper-1 while it is inside a poll, holding that source's lease.
    caught_poll = farm.hold("(scraper-1)")
    assert caught_poll.caught.wait(30), "scraper-1 never polled"
    procs.kill("scraper-1")
    caught_poll.released.set()
    assert caught_poll.request is not None
    held_source = int(caught_poll.request.path.rsplit("/", 1)[1])

    # Kill whichever deliverer sends the next alert, while its POST is open at the receiver;
    # the receiver then refuses that POST, so the alert must come from the survivor.
    caught_send = hook.hold("(delivery-")
    publish(held_source)
    assert caught_send.caught.wait(30), "no alert was sent"
    assert caught_send.request is not None
    victim = caught_send.request.headers["user-agent"].split("(")[1].rstrip(")")
    survivor = "delivery-2" if victim == "delivery-1" else "delivery-1"
    procs.kill(victim)
    caught_send.released.set()

    for n in range(SOURCES):
        publish(n)
    assert hook.wait_accepted(len(expected), timeout=40), (
        sorted(set(expected) - set(hook.titles())),
        procs.log(survivor),
    )
    # A few more rounds of polling must not bring any alert a second time.
    polled = min(len(p) for p in farm.polls)
    assert farm.wait_polls(polled + 2)
    codes = procs.stop()

    assert Counter(hook.titles()) == Counter(expected)
    assert len(hook.refused) == 1
    # The survivors did the work after the kills.
    assert {ua for _, ua in hook.accepted[-3:]} == {f"BreachRadar-test ({survivor})"}
    assert any("(scraper-1)" not in ua for _, ua in farm.polls[held_source][-2:])
    gaps = [
        later - earlier
        for polls in farm.polls
        for (earlier, _), (later, _) in itertools.pairwise(polls)
    ]
    # Two processes polling one source together would show as a gap near zero; a poll is
    # never due before its interval has passed.
    assert min(gaps) > INTERVAL * 0.25, sorted(gaps)[:5]
    # Which scraper wins each claim is a race; scraper-1 polled before its death and a
    # survivor after it.
    pollers = {ua for polls in farm.polls for _, ua in polls}
    assert pollers <= {f"BreachRadar-test (scraper-{n})" for n in (1, 2, 3)}
    assert len(pollers) >= 2
    assert codes["scraper-2"] == codes["scraper-3"] == codes[survivor] == 0
    assert codes["scraper-1"] == codes[victim] == -signal.SIGKILL
