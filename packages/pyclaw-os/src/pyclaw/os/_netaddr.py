"""Which IP addresses an outbound request may reach, and how browsers read numeric hosts.

``classify_address`` names why an address is not a public unicast address (loopback, private,
link-local, cloud metadata…), looking through IPv6 forms that embed an IPv4 address
(``::ffff:127.0.0.1``, ``::127.0.0.1``, 6to4, NAT64, Teredo). ``parse_ipv4_host`` reads a host the
way the WHATWG URL standard (and so every browser and ``inet_aton``) does, so ``2130706433``,
``0177.0.0.1`` and ``0x7f.1`` are all recognized as ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressKind(StrEnum):
    """Why an address is refused by default. ``allow_private`` lifts the ``PRIVATE_KINDS`` only."""

    METADATA = "cloud metadata"
    UNSPECIFIED = "unspecified"
    MULTICAST = "multicast"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    PRIVATE = "private"
    SHARED = "carrier-grade NAT"
    RESERVED = "reserved"
    NON_PUBLIC = "non-public"


PRIVATE_KINDS = frozenset(
    {
        AddressKind.LOOPBACK,
        AddressKind.LINK_LOCAL,
        AddressKind.PRIVATE,
        AddressKind.SHARED,
        AddressKind.RESERVED,
        AddressKind.NON_PUBLIC,
    }
)
"""Kinds a deployment may open up with ``allow_private = true`` (home LAN, local services)."""

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)

METADATA_HOSTNAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


@dataclass(frozen=True)
class AddressVerdict:
    """An address that is not public: its kind and a phrase for error messages."""

    address: IPAddress
    kind: AddressKind
    via: str | None = None  # e.g. "IPv4-mapped IPv6" when found inside another form

    def describe(self) -> str:
        where = f" (via {self.via})" if self.via else ""
        article = "an" if self.kind.value[0] in "aeiou" else "a"
        return f"{self.address} is {article} {self.kind.value} address{where}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the embedding forms."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, f"IPv4-mapped IPv6 {ip}"
    packed = int(ip)
    if packed >> 32 == 0 and packed > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF), f"IPv4-compatible IPv6 {ip}"
    if ip.sixtofour is not None:
        return ip.sixtofour, f"6to4 IPv6 {ip}"
    if ip.teredo is not None:
        return ip.teredo[1], f"Teredo IPv6 {ip}"
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF), f"NAT64 IPv6 {ip}"
    return None


def _is_private(ip: IPAddress) -> bool:
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local  # fec0::/10
    return ip.is_private or site_local


_CHECKS: tuple[tuple[AddressKind, Callable[[IPAddress], bool]], ...] = (
    (AddressKind.METADATA, lambda ip: ip in METADATA_ADDRESSES),
    (AddressKind.UNSPECIFIED, lambda ip: ip.is_unspecified),
    (AddressKind.MULTICAST, lambda ip: ip.is_multicast),
    (AddressKind.LOOPBACK, lambda ip: ip.is_loopback),
    (AddressKind.LINK_LOCAL, lambda ip: ip.is_link_local),
    (AddressKind.SHARED, lambda ip: isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
    (AddressKind.RESERVED, lambda ip: ip.is_reserved),
    (AddressKind.PRIVATE, _is_private),
    (AddressKind.NON_PUBLIC, lambda ip: not ip.is_global),
)
"""First match wins: the most specific reason is the one reported."""


def _classify_plain(ip: IPAddress) -> AddressKind | None:
    return next((kind for kind, test in _CHECKS if test(ip)), None)


def classify_address(ip: IPAddress) -> AddressVerdict | None:
    """``None`` for a public unicast address, else why it is not one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(int(ip))  # drop the zone: fe80::1%eth0 is fe80::1
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner, via = embedded
            kind = _classify_plain(inner)
            if kind is not None:
                return AddressVerdict(inner, kind, via)
    kind = _classify_plain(ip)
    return None if kind is None else AddressVerdict(ip, kind)


class InvalidHostError(ValueError):
    """A host that ends in a number but is not a valid IPv4 address (WHATWG: a URL failure)."""


def _parse_ipv4_number(part: str) -> int | None:
    text, base = part, 10
    if len(text) >= 2 and text[:2] in ("0x", "0X"):
        text, base = text[2:], 16
    elif len(text) >= 2 and text[0] == "0":
        text, base = text[1:], 8
    if text == "":
        return 0
    digits = {10: "0123456789", 8: "01234567", 16: "0123456789abcdefABCDEF"}[base]
    if not all(c in digits for c in text):
        return None
    return int(text, base)


def parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """Read ``host`` as an IPv4 address in any form a browser accepts, else ``None`` (a name).

    Raises ``InvalidHostError`` for hosts whose last label is numeric yet not a valid address
    (``1.2.3.4.5``, ``0x1.999``): browsers refuse those URLs, and so do we.
    """
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not parts or any(p == "" for p in parts):
        return None
    last = parts[-1]
    if _parse_ipv4_number(last) is None and not all(c in "0123456789" for c in last):
        return None  # ends in a name label: a domain name
    numbers = [_parse_ipv4_number(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise InvalidHostError(f"{host!r} is not a valid host")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise InvalidHostError(f"{host!r} is not a valid IPv4 address")
    value = values[-1]
    for i, n in enumerate(values[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)
