"""Decide whether an address may be fetched: no private, loopback or reserved targets."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from scrapers.errors import BlockedAddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
        "::/128",
        "::1/128",
    )
]


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


async def resolve_public(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing if any of them is forbidden."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        if is_forbidden(literal):
            raise BlockedAddressError(f"{host} is not a public address")
        return [str(literal)]
    if host.lower().rstrip(".") in {"localhost", "localhost.localdomain"} or host.lower().endswith(
        ".localhost"
    ):
        raise BlockedAddressError(f"{host} is not a public address")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedAddressError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        addr = str(sockaddr[0]).split("%", 1)[0]
        if is_forbidden(ipaddress.ip_address(addr)):
            raise BlockedAddressError(f"{host} resolves to a non-public address")
        addresses.append(addr)
    if not addresses:
        raise BlockedAddressError(f"cannot resolve {host}")
    return addresses
