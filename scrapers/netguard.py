"""Decide whether an address may be fetched: no private, loopback or reserved targets.

Host names are turned into addresses once, here, and the fetcher connects to exactly the
address that was checked, so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot reach a private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from scrapers.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Resolve a host name to addresses (strings); the seam tests and operators may replace.
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOWED_PORTS = frozenset({80, 443})

# Ranges ``is_global`` misses or that hide another address inside them.
_EXTRA_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",
        "255.255.255.255/32",
        "64:ff9b::/96",  # NAT64 embeds an IPv4 address
        "64:ff9b:1::/48",
        "2002::/16",  # 6to4 embeds an IPv4 address
        "2001::/32",  # Teredo
        "ff00::/8",  # multicast
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",  # deprecated site-local
        "::/128",
        "::1/128",
    )
]
# The characters of the legacy IPv4 spellings inet_aton accepts: 127.1, 0177.0.0.1, 0x7f.1,
# 2130706433. Browsers and resolvers read them as addresses, so the guard must too.
_LEGACY_IPV4 = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_forbidden(ip: IPAddress) -> bool:
    """Return True if ``ip`` is not a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return is_forbidden(mapped)
        # IPv4-compatible (deprecated) addresses such as ::127.0.0.1
        if int(ip) >> 32 == 0 and int(ip) > 1:
            return is_forbidden(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def parse_address(host: str) -> IPAddress | None:
    """Read ``host`` as an IP address in any spelling a resolver accepts, else ``None``."""
    text = host.strip().strip("[]").rstrip(".")
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            # Out of range (e.g. 256.1.1.1): not an address, and not a name either.
            raise BlockedAddressError(f"{host} is not a valid address") from None
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the operating system's resolver."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise BlockedAddressError(f"cannot resolve {host}: {reason}") from None
    return [
        str(sockaddr[0])
        for family, _, _, _, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


async def resolve_public(host: str, port: int, *, resolve: Resolver | None = None) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing if any of them is forbidden."""
    literal = parse_address(host)
    if literal is not None:
        if is_forbidden(literal):
            raise BlockedAddressError(f"{host} is not a public address")
        return [str(literal)]
    name = host.lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith((".localhost", ".local", ".internal")):
        raise BlockedAddressError(f"{host} is not a public address")
    answers = await (resolve or system_resolve)(host, port)
    addresses: list[str] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise BlockedAddressError(f"{host} resolves to something not an address") from None
        if is_forbidden(ip):
            raise BlockedAddressError(f"{host} resolves to a non-public address")
        addresses.append(str(ip))
    if not addresses:
        raise BlockedAddressError(f"cannot resolve {host}")
    return addresses


def check_url_shape(url: str) -> tuple[str, str, int]:
    """Return ``(scheme, host, port)`` of ``url`` if its scheme and port may be fetched."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise BlockedAddressError("not a valid URL") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BlockedAddressError("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise BlockedAddressError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        # "https://example.com@10.0.0.1/" reads as one host and goes to another.
        raise BlockedAddressError("URLs with a user name or password are not allowed")
    if port is not None and port not in ALLOWED_PORTS:
        raise BlockedAddressError(f"port {port} is not allowed (only 80 and 443)")
    scheme = parts.scheme.lower()
    return scheme, host, port or (443 if scheme == "https" else 80)


async def validate_public_url(url: str, *, resolve: Resolver | None = None) -> str:
    """Check a URL a server wants to add: public address, http(s), port 80 or 443.

    Return the URL stripped of surrounding white space; raise
    :class:`BlockedAddressError` with a reason fit to show the user otherwise. Fetches
    check again at every request and redirect; this is the early, friendly refusal.
    """
    cleaned = url.strip()
    if len(cleaned) > 2000 or any(c.isspace() or ord(c) < 32 for c in cleaned):
        raise BlockedAddressError("not a valid URL")
    _, host, port = check_url_shape(cleaned)
    await resolve_public(host, port, resolve=resolve)
    return cleaned
