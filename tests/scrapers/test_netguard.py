"""The private-network guard: every spelling of a private address is refused."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from scrapers.errors import BlockedAddressError
from scrapers.http import Fetcher, FetchPolicy
from scrapers.netguard import is_forbidden, parse_address, resolve_public, validate_public_url
from tests.support.localserver import LocalServer, Response

# A public address from a real allocation, never contacted: tests answer it in-process.
PUBLIC = "93.184.215.14"

BLOCKED_HOSTS = [
    # IPv4 private, loopback, link-local, shared, multicast, reserved, broadcast
    "127.0.0.1",
    "10.0.0.5",
    "172.16.4.4",
    "192.168.1.1",
    "169.254.169.254",  # the cloud metadata service
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.0.8",
    # other spellings of 127.0.0.1 that resolvers accept
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.1",
    "127.0.1",
    "0",
    "127.0.0.1.",
    # IPv6 loopback, unspecified, link-local, unique-local, site-local, multicast
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[fe80::1]",
    "[fd00::1]",
    "[fec0::1]",
    "[ff02::1]",
    # IPv4 hidden inside IPv6
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64
    "[64:ff9b::a00:1]",
    "[2002:7f00:1::]",  # 6to4
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    # names
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "printer.local",
    "metadata.google.internal",
]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
async def test_private_hosts_are_refused_in_every_spelling(host: str) -> None:
    """Each spelling of a non-public address is refused before any connection."""

    async def must_not_resolve(name: str, port: int) -> list[str]:
        raise AssertionError(f"{name} should be refused without a DNS lookup")

    with pytest.raises(BlockedAddressError):
        await validate_public_url(f"http://{host}/feed", resolve=must_not_resolve)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("8.8.8.8.", "8.8.8.8"),
    ],
)
def test_legacy_spellings_read_as_the_resolver_reads_them(spelling: str, address: str) -> None:
    """Octal, hex, decimal and short forms mean what inet_aton makes of them."""
    assert parse_address(spelling) == ipaddress.ip_address(address)


def test_public_addresses_are_allowed() -> None:
    """Ordinary public unicast addresses pass, in both families."""
    for text in (PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert not is_forbidden(ipaddress.ip_address(text))


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    """A public-looking name whose DNS answer includes a private address is refused."""

    async def resolve(name: str, port: int) -> list[str]:
        return [PUBLIC, "10.0.0.7"]

    with pytest.raises(BlockedAddressError, match="resolves to a non-public address"):
        await validate_public_url("https://news.example.com/feed", resolve=resolve)


async def test_a_public_name_passes_validation() -> None:
    """A name resolving to public addresses is accepted and returned trimmed."""

    async def resolve(name: str, port: int) -> list[str]:
        assert (name, port) == ("www.casio.com", 443)
        return [PUBLIC]

    url = "  https://www.casio.com/news/  "
    assert await validate_public_url(url, resolve=resolve) == url.strip()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://www.casio.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://www.casio.com:70/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://www.casio.com:8080/", "port 8080 is not allowed"),
        ("https://www.casio.com:22/", "port 22 is not allowed"),
        ("http://www.casio.com:99999/", "not a valid URL"),
        ("https://www.casio.com@127.0.0.1/", "user name or password"),
        ("http:///feed", "no host"),
        ("https://www.casio.com/a b", "not a valid URL"),
    ],
)
async def test_only_http_and_https_on_ports_80_and_443(url: str, reason: str) -> None:
    """Other schemes, ports, embedded credentials and malformed URLs are refused."""

    async def resolve(name: str, port: int) -> list[str]:
        return [PUBLIC]

    with pytest.raises(BlockedAddressError, match=reason):
        await validate_public_url(url, resolve=resolve)


async def test_unresolvable_names_are_refused_with_a_reason() -> None:
    """A name with no answer is refused, not passed on."""

    async def resolve(name: str, port: int) -> list[str]:
        return []

    with pytest.raises(BlockedAddressError, match="cannot resolve"):
        await resolve_public("nowhere.example", 443, resolve=resolve)


def answer_with(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    """A response as it comes off the wire: a stream, not yet read."""
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class Network:
    """Stands in for the internet: answers every connection in-process and records it."""

    def __init__(self, responses: dict[str, httpx.Response]) -> None:
        self.responses = responses
        self.connected: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.connected.append(request.url)
        template = self.responses[request.url.path]
        return answer_with(template.status_code, template.content, **dict(template.headers))


async def test_connection_goes_to_the_address_that_was_checked() -> None:
    """DNS rebinding: the second DNS answer (loopback) is never used to connect."""
    answers = iter([[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []

    async def rebinding(name: str, port: int) -> list[str]:
        asked.append(name)
        return next(answers)

    net = Network({"/feed": httpx.Response(200, content=b"<rss/>")})
    async with Fetcher(
        FetchPolicy(retries=0), transport=httpx.MockTransport(net), resolve=rebinding
    ) as fetcher:
        page = await fetcher.fetch("https://feeds.example.com/feed")
    assert page is not None and page.body == b"<rss/>"
    assert asked == ["feeds.example.com"]  # resolved once, by the guard
    assert [u.host for u in net.connected] == [PUBLIC]
    assert net.connected[0].scheme == "https"


async def test_host_header_and_tls_name_stay_the_site_name() -> None:
    """Connecting by address still presents the site's own name to it."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer_with(200, b"ok")

    async def resolve(name: str, port: int) -> list[str]:
        return [PUBLIC]

    async with Fetcher(
        FetchPolicy(), transport=httpx.MockTransport(answer), resolve=resolve
    ) as fetcher:
        await fetcher.fetch("https://feeds.example.com/feed")
    assert seen[0].headers["Host"] == "feeds.example.com"
    assert seen[0].extensions["sni_hostname"] == "feeds.example.com"


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/admin",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost./",
        "https://internal.example.com/",
        "http://feeds.example.com:8080/",
        "file:///etc/passwd",
    ],
)
async def test_redirects_are_checked_like_the_first_request(location: str) -> None:
    """A public page redirecting to a private or odd target is refused at the redirect."""

    async def resolve(name: str, port: int) -> list[str]:
        return {"feeds.example.com": [PUBLIC], "internal.example.com": ["10.1.2.3"]}[name]

    net = Network({"/feed": httpx.Response(302, headers={"Location": location})})
    async with Fetcher(
        FetchPolicy(retries=0), transport=httpx.MockTransport(net), resolve=resolve
    ) as fetcher:
        with pytest.raises(BlockedAddressError):
            await fetcher.fetch("http://feeds.example.com/feed")
    assert [u.host for u in net.connected] == [PUBLIC]


async def test_the_fetcher_refuses_loopback_by_default(web: LocalServer) -> None:
    """A real server on loopback is out of reach unless the operator opted in."""
    web.route("/feed", Response(200, b"<rss/>"))
    async with Fetcher(FetchPolicy(retries=0)) as fetcher:
        with pytest.raises(BlockedAddressError):
            await fetcher.fetch(web.url("/feed"))
        page = await fetcher.fetch(web.url("/feed"), allow_private=True)
    assert page is not None
    assert len(web.received(path="/feed")) == 1


async def test_the_operator_may_opt_in_for_the_whole_policy(web: LocalServer) -> None:
    """allow_private in the policy (settings allow_private_addresses) reaches intranet pages."""
    web.route("/feed", Response(200, b"<rss/>"))
    async with Fetcher(FetchPolicy(allow_private=True)) as fetcher:
        assert await fetcher.fetch(web.url("/feed")) is not None
