"""Documents per second of the matcher with 1,000, 10,000 and 100,000 watched names.

Beside it, in the same run, a naive matcher that tries one regular expression per name,
and, with 10,000 names, the cost of reading incident cards: the pipeline extracts each
matched disclosure once (``bot.core.cards.extract``), so the figure is the time to extract
the matched documents over the time to match all of them. Names and documents are
synthetic and seeded, so runs compare. The last line is ``key=value`` pairs:
``docs_per_s_10k=... ratio_10k=... cards_share_10k=...``.

    python bench/matching.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.cards import extract
from bot.core.matching import Matcher
from bot.core.normalize import fold, fold_name
from bot.core.relevance import assess
from bot.core.watchlist import Company
from scrapers.models import Disclosure

_ONSETS = "b br c d dr f g gr k l m n p pr qu r s st t tr v vr x z zh".split()
_VOWELS = "a e i o u ai eo ia ou y".split()
_CODAS = ["", "n", "r", "x", "l", "s", "th", "nd", "rk"]
_SUFFIXES = ["", "", "", " Systems", " Labs", " Holdings", " Health", " Bank", " Logistics"]
_HEADLINES = [
    "{name} confirms data breach after ransomware attack",
    "{name} says hackers stole customer data in cyberattack",
    "{name} shares rise after quarterly results beat estimates",
    "{name} launches new cloud platform for retailers",
    "Regulators fine {name} over outage that was not a cyberattack",
    "Ransomware gang claims attack on {name}, leaks stolen files",
]
_FILLER = [
    "Hospitals divert ambulances after ransomware attack on regional health system",
    "Police arrest teenager suspected of hacking transport network",
    "Central bank holds rates steady as inflation cools",
    "New phishing campaign targets small businesses with fake invoices",
    "Researchers publish analysis of botnet that hijacked routers",
    "Retail sales climb for a third month as shoppers return to malls",
    "Cloud outage disrupts airline check-in systems across Europe",
    "Lawmakers propose federal data breach notification standard",
]
# One document in ten is Japanese, which takes the slower, fully Unicode folding.
_FILLER_JA = [
    "物流大手にランサムウェア攻撃、出荷業務を停止　個人情報流出の恐れ",
    "自治体の委託先で不正アクセス、住民情報が流出した可能性",
    "電機大手、4～9月期は増収増益　半導体向けが好調",
]


def company_names(count: int, seed: int = 7) -> list[str]:
    """Return ``count`` distinct made-up company names, the same for the same seed."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < count:
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
            for _ in range(rng.choice((2, 3)))
        )
        names.add(word.capitalize() + rng.choice(_SUFFIXES))
    return sorted(names)


def documents(names: list[str], count: int, seed: int = 11) -> list[Disclosure]:
    """Return ``count`` headlines; one in ten names a watched company, one in ten is Japanese."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        if i % 10 == 0:
            title = rng.choice(_HEADLINES).format(name=rng.choice(names))
        elif i % 10 == 5:
            title = rng.choice(_FILLER_JA)
        else:
            title = rng.choice(_FILLER)
        summary = " ".join(rng.sample(_FILLER, 2))
        docs.append(
            Disclosure(source="bench", title=title, url=f"https://n.test/{i}", summary=summary)
        )
    return docs


class NaiveMatcher:
    """One compiled pattern per name, each tried on every document."""

    def __init__(self, companies: list[Company]) -> None:
        self.patterns = [
            (c, re.compile(r"(?<!\w)" + re.escape(fold_name(c.name)) + r"(?!\w)"))
            for c in companies
        ]

    def match(self, disclosure: Disclosure) -> list[Company]:
        text = fold(disclosure.text)
        found = [c for c, p in self.patterns if p.search(text)]
        if found and not assess(disclosure.text).incident:
            return []
        return found


def rate(match: object, docs: list[Disclosure], budget: float) -> tuple[float, int]:
    """Documents per second of ``match`` over ``docs``, stopping after ``budget`` seconds."""
    fn = match.match  # type: ignore[attr-defined]
    hits = 0
    done = 0
    # As timeit does: collection pauses triggered by earlier runs would be noise here.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for doc in docs:
            hits += len(fn(doc))
            done += 1
            if time.perf_counter() - start > budget:
                break
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return done / elapsed, hits


def _timed(work: object) -> float:
    """CPU seconds of ``work()``: other processes on a busy machine do not count."""
    fn = work  # type: ignore[assignment]
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        fn()  # type: ignore[operator]
        return time.process_time() - start
    finally:
        gc.enable()


def cards_share(matcher: Matcher, docs: list[Disclosure], rounds: int) -> tuple[float, float, int]:
    """(extraction time / matching time, microseconds per extraction, matched documents).

    Timed here on the same documents, in alternating rounds (a busy machine slows both
    alike), best of ``rounds`` each: matching every document, and extracting the card fields
    of each matched one once, as the pipeline does.
    """
    matched = [d for d in docs if matcher.match(d)]
    match_s = extract_s = float("inf")
    for _ in range(rounds):
        match_s = min(match_s, _timed(lambda: [matcher.match(d) for d in docs]))
        extract_s = min(
            extract_s,
            _timed(lambda: [extract(d.title, d.summary, published=d.published) for d in matched]),
        )
    return extract_s / match_s, extract_s / max(1, len(matched)) * 1e6, len(matched)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer documents (under 30 s)")
    args = parser.parse_args()
    sizes = [1_000, 10_000, 100_000]
    doc_count = 5_000 if args.quick else 50_000
    naive_budget = 1.5 if args.quick else 8.0
    all_names = company_names(max(sizes))
    figures: dict[str, str] = {}
    for size in sizes:
        names = all_names[:size]
        # Every company with a domain, as real watchlists have, so link checks are paid for.
        companies = [Company(name=n, domains=(n.split()[0].lower() + ".com",)) for n in names]
        docs = documents(names, doc_count)
        start = time.perf_counter()
        matcher = Matcher(companies)
        build = time.perf_counter() - start
        fast, fast_hits = rate(matcher, docs, budget=float("inf"))
        naive_matcher = NaiveMatcher(companies)
        slow, _ = rate(naive_matcher, docs, budget=naive_budget)
        label = f"{size // 1000}k"
        print(
            f"{size:>7} names: matcher {fast:>9,.0f} docs/s ({fast_hits} matches in "
            f"{len(docs)} docs), naive {slow:>8,.1f} docs/s, ratio {fast / slow:>7,.0f}x, "
            f"automaton built in {build:.2f} s"
        )
        figures[f"docs_per_s_{label}"] = f"{fast:.0f}"
        figures[f"naive_docs_per_s_{label}"] = f"{slow:.1f}"
        figures[f"ratio_{label}"] = f"{fast / slow:.0f}"
        figures[f"build_s_{label}"] = f"{build:.2f}"
        if size == 10_000:
            share, per_card, matched = cards_share(matcher, docs, 3 if args.quick else 5)
            print(
                f"  cards: {matched} matched documents extracted once each, {per_card:.1f} us "
                f"each: {share:.1%} of the time spent matching all {len(docs)}"
            )
            figures["cards_us_per_matched"] = f"{per_card:.1f}"
            figures["cards_share_10k"] = f"{share:.4f}"
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
