"""Source names as people write them: any script, shown as written, one stable key each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.sourcenames import KEY_PATTERN, fold_name, names_match, source_key
from bot.settings import ConfigError, load_config
from tests.support.cli import REPO, run_cli
from tests.support.scenario import write_config


def entry(name: str, url: str = "https://example.com/feed", **extra: str) -> str:
    """One rss entry with ``name`` written as a TOML literal string where it can be."""
    quoted = f"'{name}'" if "'" not in name and "\n" not in name else f'"{name}"'
    lines = ["[[sources]]", f"name = {quoted}", 'kind = "rss"', f'url = "{url}"']
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


# Hand-written names, and the key each must get.
WRITTEN = {
    "Dark Reading": "dark-reading",
    "KADOKAWA ニュースリリース": "kadokawa-ニュースリリース",
    'The "Register" (security)': "the-register-security",
    "🔥 Breach Watch 🔥": "breach-watch",
    "ＳｅｃｕｒｉｔｙＷｅｅｋ": "securityweek",
    "Le Monde Informatique — sécurité": "le-monde-informatique-sécurité",
    "Ведомости": "ведомости",
    "हिन्दी समाचार": "हिन्दी-समाचार",
    "bleepingcomputer": "bleepingcomputer",  # a kebab-case name is its own key
    "the--record-": "the--record-",  # even the odd ones earlier releases accepted
}


def test_hand_written_names_load_as_written_with_stable_keys(tmp_path: Path) -> None:
    """Every name loads; it is kept as written (trimmed) and keyed by its kebab-case form."""
    sources = "".join(entry(n) for n in WRITTEN) + entry("Trailing Spaces   ")
    config = load_config(write_config(tmp_path / "c", sources=sources), environ={})
    shown = {s.display_name: s.name for s in config.sources}
    assert shown == {**WRITTEN, "Trailing Spaces": "trailing-spaces"}
    assert all(len(spec.name) <= 63 for spec in config.sources)


def test_emoji_only_and_very_long_names_get_bounded_distinct_keys(tmp_path: Path) -> None:
    long_a = "Ａ" * 60 + " security news from the northern region"
    long_b = "Ａ" * 60 + " security news from the southern region"
    names = ["🔥🔥", "💧", long_a[:100], long_b[:100], "x" * 100]
    config = load_config(
        write_config(tmp_path / "c", sources="".join(entry(n) for n in names)), environ={}
    )
    keys = [s.name for s in config.sources]
    assert len(set(keys)) == len(names)
    assert all(1 <= len(k) <= 63 for k in keys)
    assert [s.display_name for s in config.sources] == names


def test_bundled_sources_keep_their_kebab_case_names_as_keys() -> None:
    """Existing databases hold these keys: the bundled names must map to themselves."""
    config = load_config(REPO / "config", environ={})
    for spec in config.sources:
        assert KEY_PATTERN.match(spec.name), spec.name
        assert spec.display_name == spec.name


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Dark Reading", "dark reading"),
        ("Dark Reading", "ＤＡＲＫ ＲＥＡＤＩＮＧ"),  # full-width letters fold to ASCII
        ("KADOKAWA ニュースリリース", "kadokawa ﾆｭｰｽﾘﾘｰｽ"),  # half-width katakana too
        ("feed", "feed"),
    ],
)
def test_names_alike_after_case_and_width_folding_clash(
    tmp_path: Path, first: str, second: str
) -> None:
    cfg = write_config(tmp_path / "c", sources=entry(first) + entry(second))
    with pytest.raises(ConfigError) as err:
        load_config(cfg, environ={})
    message = str(err.value)
    assert "duplicate source name" in message and "ignoring case and width" in message
    assert f"source #2 {second!r}" in message and f"source #1 {first!r}" in message


def test_a_clash_exits_2_with_one_line_naming_both_entries(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", sources=entry("Dark Reading") + entry("dark reading"))
    result = run_cli("check-config", "--config", str(cfg))
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "breachradar: configuration error: sources.toml: source #2 'dark reading': duplicate "
        "source name: the same as source #1 'Dark Reading' (names are compared ignoring case "
        "and width)"
    )


def test_names_that_would_share_a_key_clash_and_an_id_tells_them_apart(tmp_path: Path) -> None:
    """ "C++ News" and "C News" both become c-news: refused, until one is given an id."""
    cfg = write_config(tmp_path / "c", sources=entry("C News") + entry("C++ News"))
    with pytest.raises(ConfigError) as err:
        load_config(cfg, environ={})
    message = str(err.value)
    assert "source #2 'C++ News'" in message and "source #1 'C News'" in message
    assert "'c-news'" in message and "'id'" in message
    cfg = write_config(tmp_path / "c", sources=entry("C News") + entry("C++ News", id="cpp-news"))
    config = load_config(cfg, environ={})
    assert {s.display_name: s.name for s in config.sources} == {
        "C News": "c-news",
        "C++ News": "cpp-news",
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('[[sources]]\nname = "   "\nkind = "rss"\nurl = "https://e.com/f"\n', "non-empty"),
        (entry("x" * 101), "at most 100 characters (it has 101)"),
        (
            '[[sources]]\nname = "two\\nlines"\nkind = "rss"\nurl = "https://e.com/f"\n',
            "line breaks or control characters",
        ),
        (entry("Feed", id="Not A Key"), "'id' must be lower-case letters"),
    ],
)
def test_unusable_names_get_one_clear_line(tmp_path: Path, source: str, expected: str) -> None:
    cfg = write_config(tmp_path / "c", sources=source)
    with pytest.raises(ConfigError) as err:
        load_config(cfg, environ={})
    assert str(err.value).startswith("sources.toml: source")
    assert expected in str(err.value)


def test_a_name_is_found_by_what_people_type() -> None:
    """The name as written, folded alike, or its kebab-case form; not a different name."""
    name, key = "KADOKAWA ニュースリリース", source_key("KADOKAWA ニュースリリース")
    for typed in [
        name,
        "kadokawa ニュースリリース",
        "kadokawa-ニュースリリース",
        "ＫＡＤＯＫＡＷＡ ニュースリリース",
    ]:
        assert names_match(typed, name, key), typed
    assert names_match("dark-reading", "Dark Reading", "dark-reading")
    assert names_match("old-key", "New Name", "old-key")  # pinned with an id
    assert not names_match("kadokawa", name, key)
    assert not names_match("", name, key)
    assert fold_name("ＤＡＲＫ Reading") == fold_name("dark reading")


def test_news_search_templates_expand_under_display_names(tmp_path: Path) -> None:
    """A search named "Google News" shows its batches as "Google News 001" and, asked one
    company at a time, as "Google News: Casio", keyed in kebab-case; a template written in
    kebab-case keeps the names it always had."""
    template = (
        '[[sources]]\nname = "{name}"\nkind = "news-search"\n'
        'url = "https://news.example.com/rss?q={{query}}"\n{extra}\n'
    )
    watchlist = '[[companies]]\nname = "Casio"\n\n[[companies]]\nname = "AT&T"\n'
    batched = write_config(
        tmp_path / "batched",
        sources=template.format(name="Google News", extra="")
        + template.format(name="bing-news", extra=""),
        watchlist=watchlist,
    )
    config = load_config(batched, environ={})
    assert {s.name: s.display_name for s in config.sources} == {
        "google-news-001": "Google News 001",
        "bing-news-001": "bing-news-001",
    }
    assert [s.name for s in config.sources[0].subjects] == ["Casio", "AT&T"]
    one_each = "query = '\"{{name}}\" breach'\n"
    per_company = write_config(
        tmp_path / "per-company",
        sources=template.format(name="Google News", extra=one_each)
        + template.format(name="bing-news", extra=one_each),
        watchlist=watchlist,
    )
    config = load_config(per_company, environ={})
    assert {s.name: s.display_name for s in config.sources} == {
        "google-news-casio": "Google News: Casio",
        "google-news-at-t": "Google News: AT&T",
        "bing-news-casio": "bing-news-casio",
        "bing-news-at-t": "bing-news-at-t",
    }
