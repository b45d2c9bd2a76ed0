"""Watching 10,000 vendors: searches, start-up, memory, matching and imports at that scale.

10,000 real listed companies (``bench/data/companies.tsv``: SEC, JPX, EDINET and index
lists, short and common-word names included) are the watchlist; 1,000 Discord servers
hold 100,000 subscriptions to them. The bundled catalog (``config/sources.toml``) runs
against loopback hosts, each with its own address and latency (``bench/catalogweb.py``);
the news search host answers Google News-shaped feeds and blocks bursts.

What it measures, each figure beside its goal:

- the plan of the news search for both query limits: the default 32 words a query, and
  the URL length alone (``terms_per_query = 0``): batches, requests an hour to the search
  host, how often each company is searched (``search_every_s``) and the time the plan
  takes to search every company once (``full_pass_s``);
- a real ``breachradar run --role scraper`` process on that database: its start-up time
  (to its first request), then ``--window`` seconds of polling in which the search host
  counts requests (their spacing, measured, gives the full pass the running service
  keeps to) and the catalog's other sources must each be polled; then its peak memory;
- the matcher at 100,000 names (the 10,000 real ones and 90,000 made-up ones) against a
  naive regular expression per name, in the same run;
- ``breachradar watch import`` of a 5,000-line file into a new server, and the same file
  again (which must add nothing).

    python bench/watchlist_scale.py              # about four minutes on 2 cores
    python bench/watchlist_scale.py --window 300 # a longer look at the search pacing
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.catalogweb import SEARCH, CatalogWeb, catalog_hosts  # noqa: E402
from bench.matching import NaiveMatcher, company_names, documents, rate  # noqa: E402

DATA = ROOT / "bench" / "data" / "companies.tsv"
PORT = 18190
GOALS = {
    "search_requests_per_hour": 600,
    "startup_s": 10.0,
    "peak_mb": 400.0,
    "docs_per_s_100k": 20_000,
    "vs_naive_100k": 100,
    "import_5000_s": 10.0,
}


def real_companies(count: int) -> list[dict[str, Any]]:
    """The first ``count`` distinct companies of the lists, as watchlist entries."""
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line in DATA.read_text("utf-8").splitlines():
        source_name, display, ticker, _source, alias_en = (line.split("\t") + [""] * 5)[:5]
        key = display.casefold()
        if not display or key in seen:
            continue
        seen.add(key)
        # Short English names first: a search asks for a company's first names.
        english = sorted((a.strip() for a in alias_en.split("|") if a.strip()), key=len)
        aliases = [a for a in [*english, source_name] if a.casefold() != key]
        entry: dict[str, Any] = {"name": display, "aliases": list(dict.fromkeys(aliases))}
        if ticker and not ticker.endswith(".T"):
            entry["ticker"] = ticker
        chosen.append(entry)
        if len(chosen) == count:
            break
    return chosen


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def tables(name: str, rows: list[dict[str, Any]]) -> str:
    return "".join(
        f"[[{name}]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in row.items()) + "\n"
        for row in rows
    )


def catalog(web_base: dict[int, str], entries: list[dict[str, Any]], terms: int) -> str:
    """The bundled catalog's enabled entries, each pointed at its loopback host."""
    out = []
    for n, entry in enumerate(entries):
        row = dict(entry)
        parts = row["url"].split("/", 3)
        row["url"] = web_base[n] + "/" + (parts[3] if len(parts) > 3 else "")
        if row["kind"] == "news-search":
            row["terms_per_query"] = terms
        if row["kind"] == "maine-ag":
            row["details"] = 0  # its notices live on maine.gov: never leave loopback
        out.append(row)
    return tables("sources", out)


def write_config(
    directory: Path,
    entries: list[dict[str, Any]],
    web: CatalogWeb,
    watchlist: str,
    terms: int,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    bases = {n: web.base(n) for n in range(len(entries))}
    (directory / "sources.toml").write_text(catalog(bases, entries, terms), "utf-8")
    (directory / "watchlist.toml").write_text(watchlist, "utf-8")
    (directory / "settings.toml").write_text("allow_private_addresses = true\n", "utf-8")
    return directory


async def add_servers(db: str, watchlist: Any, servers: int, per_server: int) -> int:
    """``servers`` servers, one channel each watching ``per_server`` companies."""
    from bot.core.clock import utcnow
    from bot.store import Store
    from bot.store.database import normalize_database_url

    store = await Store.open(normalize_database_url(db))
    rng = random.Random(3)
    companies = watchlist.companies
    # Popular vendors are watched by many servers: the first (largest) companies more often.
    weights = [1.0 / (1 + i / 200) for i in range(len(companies))]
    total = 0
    try:
        for guild in range(servers):
            picked: dict[str, Any] = {}
            while len(picked) < per_server:
                for company in rng.choices(companies, weights, k=per_server):
                    picked.setdefault(company.key, company)
            added = await store.guilds.import_subscriptions(
                10**17 + guild, 10**18 + guild, list(picked.values())[:per_server],
                by=None, now=utcnow(), announce=("subscriptions.version",),
            )  # fmt: skip
            total += len(added)
    finally:
        await store.close()
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc: Linux only")


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREACHRADAR_")}
    env.pop("DISCORD_TOKEN", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def live_run(config: Path, db: str, web: CatalogWeb, window: float, log: Path) -> dict[str, Any]:
    """Start ``run --role scraper``, watch ``window`` seconds of polling, stop it."""
    web.drain()
    before = web.counters.requests.value
    started_wall = time.time()
    started = time.perf_counter()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--role", "scraper", "--config", str(config),
             "--db", db],
            env=cli_env(), stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        ready = None
        while web.counters.requests.value == before:
            if proc.poll() is not None:
                raise RuntimeError(f"run exited: {log.read_text()[-2000:]}")
            if ready is None and "watching" in log.read_text("utf-8", "replace"):
                ready = time.perf_counter() - started
            time.sleep(0.01)
        first = web.counters.first_request.value if before == 0 else time.time()
        startup = max(0.0, first - started_wall)
        if ready is None:
            ready = startup
        time.sleep(window)
        peak = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    events = web.drain()
    searches = [e for e in events if e[0] == "search"]
    blocked = [e for e in events if e[0] == "blocked"]
    pages = {e[2] for e in events if e[0] == "page"}
    return {
        "startup_s": startup,
        "ready_s": ready,
        "peak_mb": peak,
        "searches": searches,
        "blocked": len(blocked),
        "pages": pages,
        "log": log.read_text("utf-8", "replace"),
    }


def measure_matching(real: list[str], total: int, docs: int) -> tuple[float, float]:
    """Documents per second at ``total`` names: the matcher and the naive one."""
    from bot.core.matching import Matcher
    from bot.core.watchlist import Company

    names = list(dict.fromkeys([*real, *company_names(total)]))[:total]
    companies = [Company(name=n) for n in names]
    texts = documents(names, docs)
    matcher = Matcher(companies)
    fast, _ = rate(matcher, texts, budget=float("inf"))
    naive = NaiveMatcher(companies)
    slow, _ = rate(naive, texts[:200], budget=6.0)
    del matcher, naive
    gc.collect()
    return fast, slow


def timed_cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=cli_env(), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    return time.perf_counter() - started, done


def import_file(watchlist: list[dict[str, Any]], count: int) -> str:
    """A vendor list as a security team exports it: known vendors, its own, a few bad lines."""
    rng = random.Random(11)
    known = rng.sample([c["name"] for c in watchlist], count * 3 // 5)
    own = [f"Regional Supplier {i:04d} Ltd" for i in range(count - len(known) - 5)]
    bad = ["@everyone", "<#123>", "!!!", "x" * 150, '""']
    lines = known + own + bad
    rng.shuffle(lines)
    return "vendor\n" + "\n".join(lines) + "\n"


def plan_of(config: Path, db: str) -> Any:
    from bot.settings import load_config

    (schedule,) = load_config(config, database=db, environ={}).schedules
    return schedule


def pass_from(searches: list[tuple[Any, ...]], batches: int) -> float | None:
    """The full pass the running service keeps to: measured spacing times the batches."""
    if len(searches) < 3:
        return None
    times = sorted(e[1] for e in searches)
    spacing = (times[-1] - times[0]) / (len(times) - 1)
    return spacing * batches


def main(args: argparse.Namespace) -> int:
    from bot.core.matching import is_ambiguous_name
    from bot.settings import parse_watchlist

    bundled = tomllib.loads((ROOT / "config" / "sources.toml").read_text("utf-8"))
    entries = [e for e in bundled["sources"] if e.get("enabled", True)]
    companies = real_companies(args.companies)
    watchlist_text = tables("companies", companies)
    watchlist = parse_watchlist(tomllib.loads(watchlist_text))
    names = [c.name for c in watchlist.companies]
    japanese = sum(1 for n in names if any("\u3040" <= ch <= "\u9fff" for ch in n))
    common = sum(1 for n in names if is_ambiguous_name(n))
    short = sum(1 for n in names if len(n) <= 4)
    print(
        f"watchlist: {len(names):,} real companies ({japanese:,} in Japanese script, "
        f"{common:,} made of common words such as Target, Block, Shell; {short:,} of four "
        f"characters or fewer)"
    )
    tmp = Path(tempfile.mkdtemp(prefix="breachradar-scale-"))
    figures: dict[str, Any] = {}
    try:
        hosts = catalog_hosts(entries)
        with CatalogWeb(
            hosts, port=args.port, search_limit=args.search_limit, search_window=60.0
        ) as web:
            db = f"sqlite:///{tmp / 'scale.db'}"
            default = write_config(tmp / "default", entries, web, watchlist_text, 32)
            url_only = write_config(tmp / "url-only", entries, web, watchlist_text, 0)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", "db", "upgrade", "--config", str(default),
                 "--db", db], env=cli_env(), check=True, capture_output=True,
            )  # fmt: skip
            subs = asyncio.run(add_servers(db, watchlist, args.servers, args.per_server))
            print(
                f"database: {args.servers:,} servers, {subs:,} subscriptions "
                f"(set up in {time.perf_counter() - started:.1f} s)"
            )
            plans = {"32 words": plan_of(default, db), "URL only": plan_of(url_only, db)}
            for label, plan in plans.items():
                print(
                    f"plan, {label:>8}: {plan.batches:,} searches, "
                    f"{plan.requests_per_hour:,.0f} requests/hour to the search host, each "
                    f"company every {plan.every.total_seconds() / 3600:.2f} h "
                    f"(asked for {plan.search_every.total_seconds() / 3600:.0f} h)"
                )
            other = [h.source for h in hosts.values() if h.source != SEARCH]
            runs = {"32 words": (default, db, args.window)}
            if args.window_url_only > 0:
                # A copy of the database as set up: every source is due at its start too,
                # not only after the first run's intervals.
                shutil.copyfile(tmp / "scale.db", tmp / "url-only.db")
                url_db = f"sqlite:///{tmp / 'url-only.db'}"
                runs["URL only"] = (url_only, url_db, args.window_url_only)
            lives: dict[str, dict[str, Any]] = {}
            for label, (config, run_db, window) in runs.items():
                log = tmp / f"{label}.log"
                lives[label] = live = live_run(config, run_db, web, window, log)
                plan = plans[label]
                searches = live["searches"]
                measured = pass_from(searches, plan.batches)
                rate_now = (
                    (len(searches) - 1) / (searches[-1][1] - searches[0][1]) * 3600
                    if len(searches) > 2
                    else float("nan")
                )
                missing = sorted(set(other) - live["pages"])
                print(
                    f"run, {label:>8}: first request {live['startup_s']:.1f} s after start "
                    f"(ready {live['ready_s']:.1f} s), peak memory {live['peak_mb']:.0f} MB; "
                    f"in {window:.0f} s: {len(searches)} searches ({rate_now:,.0f}/hour at "
                    f"that spacing), {live['blocked']} blocked, "
                    f"{len(other) - len(missing)}/{len(other)} other sources polled"
                    + (f" (not: {', '.join(missing)})" if missing else "")
                )
                if measured is not None:
                    print(
                        f"           full pass at the measured spacing: {measured:,.0f} s "
                        f"(planned {plan.batch_every.total_seconds():,.0f} s)"
                    )
                live["measured_pass"] = measured
                live["rate"] = rate_now
            # Imports, after the service stopped (SQLite has one writer at a time).
            vendors = tmp / "vendors.csv"
            vendors.write_text(import_file(companies, 5000), "utf-8")
            where = ("--config", str(default), "--db", db)
            target = ("--guild", str(10**17 + 999_999), "--channel", str(10**18 + 999_999))
            took, done = timed_cli("watch", "import", str(vendors), *target, *where, "--json")
            report = json.loads(done.stdout)
            again, redo = timed_cli("watch", "import", str(vendors), *target, *where, "--json")
            second = json.loads(redo.stdout)
            print(
                f"import of 5,000 lines (breachradar watch import, process start included): "
                f"{took:.1f} s: {report['added']:,} added, {report['refused']} refused; "
                f"the same file again: {again:.1f} s, {second['added']} added, "
                f"{second['already']:,} already watched"
            )
        fast, slow = measure_matching(names, 100_000, args.docs)
        print(
            f"matching at 100,000 names: {fast:,.0f} docs/s, naive regex {slow:,.1f} docs/s, "
            f"{fast / slow:,.0f}x"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    default_plan, url_plan = plans["32 words"], plans["URL only"]
    live = lives["32 words"]
    figures = {
        "companies": len(names),
        "servers": args.servers,
        "subscriptions": subs,
        "search_requests_per_hour": f"{default_plan.requests_per_hour:.0f}",
        "search_requests_per_hour_measured": f"{live['rate']:.0f}",
        "full_pass_s": f"{default_plan.batch_every.total_seconds():.0f}",
        "full_pass_measured_s": f"{live['measured_pass'] or float('nan'):.0f}",
        "search_every_s": f"{default_plan.every.total_seconds():.0f}",
        "search_requests_per_hour_url_only": f"{url_plan.requests_per_hour:.0f}",
        "full_pass_s_url_only": f"{url_plan.batch_every.total_seconds():.0f}",
        "search_every_s_url_only": f"{url_plan.every.total_seconds():.0f}",
        "blocked": live["blocked"],
        "startup_s": f"{live['startup_s']:.1f}",
        "peak_mb": f"{live['peak_mb']:.0f}",
        "docs_per_s_100k": f"{fast:.0f}",
        "vs_naive_100k": f"{fast / slow:.0f}",
        "import_5000_s": f"{took:.1f}",
        "import_again_added": second["added"],
    }
    hour = 3600.0
    checks = [
        ("search host <= 600 requests/hour", default_plan.requests_per_hour <= 600),
        (
            "every company searched within search_every (1 h), 32 words a query",
            default_plan.every.total_seconds() <= hour,
        ),
        (
            "every company searched within search_every (1 h), URL length only",
            url_plan.every.total_seconds() <= hour and url_plan.requests_per_hour <= 600,
        ),
        ("start-up <= 10 s", live["startup_s"] <= GOALS["startup_s"]),
        ("peak memory < 400 MB", live["peak_mb"] < GOALS["peak_mb"]),
        (">= 20,000 docs/s at 100,000 names", fast >= GOALS["docs_per_s_100k"]),
        (">= 100x the naive regex", fast / slow >= GOALS["vs_naive_100k"]),
        ("import of 5,000 lines <= 10 s", took <= GOALS["import_5000_s"]),
    ]
    for label, ok in checks:
        print(f"goal: {label}: {'met' if ok else 'NOT met'}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--per-server", type=int, default=100, help="subscriptions a server")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of live polling")
    parser.add_argument(
        "--window-url-only", type=float, default=45.0,
        help="seconds of live polling with terms_per_query = 0 (0: skip)",
    )  # fmt: skip
    parser.add_argument("--docs", type=int, default=20_000, help="documents for the matcher")
    parser.add_argument(
        "--search-limit", type=int, default=10,
        help="the search host blocks past this many requests a minute",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=PORT)
    raise SystemExit(main(parser.parse_args()))
