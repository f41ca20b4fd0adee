"""The SSRF guard: decides whether a URL may be fetched, and pins the address that was checked.

``NetGuard.check(url)`` parses the URL, refuses schemes other than http(s), reads numeric hosts as
browsers do, resolves a host name ONCE, refuses it when ANY resolved address is not public (unless
the deployment allowed it) and returns a ``CheckedTarget`` carrying the checked IP. Callers connect
to that IP (``CheckedTarget.pinned_url``), never to the name again, so a second DNS answer cannot
swap in a private address (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from pyclaw.meta import ToolError
from pyclaw.os._netaddr import (
    METADATA_HOSTNAMES,
    PRIVATE_KINDS,
    AddressVerdict,
    InvalidHostError,
    IPAddress,
    classify_address,
    parse_ipv4_host,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class NetworkBlockedError(ToolError):
    """An outbound request was refused before any connection was made (scheme, address, host)."""


@runtime_checkable
class Resolver(Protocol):
    """Turns a host name into IP addresses. Swappable so tests can script DNS answers."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), run off the event loop."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ToolError(f"could not resolve host {host!r}: {exc}") from exc
        found: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if ip not in found:
                found.append(ip)
        return found


class StaticResolver:
    """A resolver answering from a fixed table (tests, air-gapped setups). Records every lookup."""

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        self._table = {
            name.lower(): [ipaddress.ip_address(a) for a in ips] for name, ips in table.items()
        }
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups.append(host)
        try:
            return self._table[host.lower()]
        except KeyError:
            raise ToolError(f"could not resolve host {host!r}") from None


@dataclass(frozen=True)
class HostAllowList:
    """Hosts a deployment opened up: names, ``*.suffix`` wildcards, IP addresses and networks."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostAllowList:
        """Raises ``ValueError`` naming the first entry that is neither a host, ``*.x`` nor a network."""
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if entry.startswith("[") and entry.endswith("]"):
                entry = entry[1:-1]
            if not entry:
                raise ValueError(f"empty host in allow_hosts: {raw!r}")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            elif all(c.isalnum() or c in "-._" for c in entry):
                names.add(entry)
            else:
                raise ValueError(f"not a host name, '*.domain' or IP network: {raw!r}")
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    def allows_name(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def allows_ip(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.networks)


@dataclass(frozen=True)
class NetPolicy:
    """What a deployment lets outbound tools reach beyond the public internet."""

    allow_private: bool = False
    allow_hosts: HostAllowList = HostAllowList()
    settings_key: str = "tools.http_fetch"  # named in refusal hints


@dataclass(frozen=True)
class CheckedTarget:
    """A URL that passed the guard, with the address to connect to."""

    url: str  # canonical form, host name kept, credentials dropped
    scheme: str
    host: str  # ASCII host name or IP text (Host header, TLS SNI)
    port: int
    ip: IPAddress  # the checked address: connect here and nowhere else
    addresses: tuple[IPAddress, ...]
    target: str  # path and query
    userinfo: str = ""

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with the host replaced by the checked IP (send ``host_header`` and SNI yourself)."""
        ip = f"[{self.ip}]" if self.ip.version == 6 else str(self.ip)
        auth = f"{self.userinfo}@" if self.userinfo else ""
        return f"{self.scheme}://{auth}{ip}:{self.port}{self.target}"


def _ascii_host(name: str) -> str:
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ToolError(f"invalid host name {name!r}") from exc
    if not ascii_name or not all(c.isalnum() or c in "-._" for c in ascii_name):
        raise ToolError(f"invalid host name {name!r}")
    return ascii_name.lower()


@dataclass(frozen=True)
class _ParsedURL:
    scheme: str
    host: str
    literal: IPAddress | None
    port: int
    target: str
    userinfo: str

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target}"


def _parse_url(url: str) -> _ParsedURL:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ToolError(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"{scheme}://" if scheme else "scheme-less"
        raise NetworkBlockedError(f"refused {shown} URL {url!r}: only http and https are allowed")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise ToolError(f"invalid URL {url!r}: no host")
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(raw_host) if ":" in raw_host else parse_ipv4_host(raw_host)
    except (ValueError, InvalidHostError) as exc:
        raise NetworkBlockedError(f"refused {url!r}: {exc}") from exc
    host = str(literal) if literal is not None else _ascii_host(raw_host.rstrip("."))
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return _ParsedURL(scheme, host, literal, port or _DEFAULT_PORTS[scheme], target, userinfo)


class NetGuard:
    """Checks URLs against a ``NetPolicy``, resolving each host once through ``resolver``."""

    def __init__(
        self,
        policy: NetPolicy | None = None,
        resolver: Resolver | None = None,
        *,
        resolve_timeout_s: float = 5.0,
    ) -> None:
        self.policy = policy or NetPolicy()
        self.resolver: Resolver = resolver or SystemResolver()
        self.resolve_timeout_s = resolve_timeout_s

    def _permitted(self, verdict: AddressVerdict, ip: IPAddress, name_allowed: bool) -> bool:
        allow = self.policy.allow_hosts
        if allow.allows_ip(ip) or allow.allows_ip(verdict.address):
            return True
        return verdict.kind in PRIVATE_KINDS and (self.policy.allow_private or name_allowed)

    def _refuse(self, url: str, reason: str) -> NetworkBlockedError:
        return NetworkBlockedError(
            f"refused {url}: {reason}",
            hint=f"only public addresses are reachable; allow_private or allow_hosts in [{self.policy.settings_key}] opens others",
        )

    async def check(self, url: str) -> CheckedTarget:
        """The target to connect to, or ``NetworkBlockedError`` / ``ToolError`` saying why not."""
        parsed = _parse_url(url)
        name_allowed = parsed.literal is None and self.policy.allow_hosts.allows_name(parsed.host)
        if parsed.literal is not None:
            addresses: Sequence[IPAddress] = [parsed.literal]
        else:
            if parsed.host in METADATA_HOSTNAMES and not name_allowed:
                raise self._refuse(parsed.display, f"{parsed.host} is a cloud metadata host name")
            try:
                async with asyncio.timeout(self.resolve_timeout_s):
                    addresses = await self.resolver.resolve(parsed.host, parsed.port)
            except TimeoutError:
                raise ToolError(f"resolving {parsed.host!r} timed out") from None
            if not addresses:
                raise ToolError(f"could not resolve host {parsed.host!r}: no addresses")
        for ip in addresses:
            verdict = classify_address(ip)
            if verdict is not None and not self._permitted(verdict, ip, name_allowed):
                via = "" if parsed.literal is not None else f"{parsed.host} resolves to {ip}; "
                raise self._refuse(parsed.display, via + verdict.describe())
        return CheckedTarget(
            url=parsed.display,
            scheme=parsed.scheme,
            host=parsed.host,
            port=parsed.port,
            ip=addresses[0],
            addresses=tuple(addresses),
            target=parsed.target,
            userinfo=parsed.userinfo,
        )
