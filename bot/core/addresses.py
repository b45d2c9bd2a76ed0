"""Listening addresses written the way operators write them: ``127.0.0.1:9464``, ``:9464``."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# A host name as DNS allows it (letters, digits, dashes, dots); the rest must be an IP.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
# Words that switch a listener off, so an environment variable can override the file.
OFF = frozenset({"", "off", "none", "no", "false", "0"})


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where a server listens: a host (name or IP) and a TCP port (0: any free port)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """The address as an http URL (the wildcard hosts as loopback, to be reachable)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{ListenAddress(host, self.port)}{path}"


def parse_listen_address(value: object) -> ListenAddress | None:
    """``host:port``, ``[v6]:port``, ``:port`` (every interface) or a bare port (loopback).

    ``off`` (or an empty value) means no listener: None. Raise ``ValueError`` otherwise.
    """
    if isinstance(value, bool):
        raise ValueError("must be host:port, such as 127.0.0.1:9464")
    if isinstance(value, int):
        return ListenAddress("127.0.0.1", _port(str(value)))
    if not isinstance(value, str):
        raise ValueError("must be host:port, such as 127.0.0.1:9464")
    text = value.strip()
    if text.lower() in OFF - {"0"}:
        return None
    if text.isdigit():
        return ListenAddress("127.0.0.1", _port(text))
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r} is not host:port (an IPv6 address is written [::1]:9464)")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
        return ListenAddress(host, _port(port))
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} has no port: write host:port, such as 127.0.0.1:9464")
    if ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, such as [::1]:9464")
    number = _port(port)
    if not host:
        return ListenAddress("0.0.0.0", number)
    numeric = re.fullmatch(r"[\d.]+", host) is not None
    if not _is_ip(host) and (numeric or not _HOSTNAME.match(host)):
        raise ValueError(f"{host!r} is not a host name or IP address")
    return ListenAddress(host, number)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"port {text!r} must be a number from 0 to 65535")
    return int(text)
