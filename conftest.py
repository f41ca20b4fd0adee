"""Test-wide safety net for every test in the repository (``tests/`` and ``packages/*/tests``).

It lives at the repository root so that it also covers each package's own tests, including the
per-package isolation runs (which install only that package's wheel plus pytest, pytest-asyncio and
hypothesis: this file therefore imports nothing but the stdlib and pytest).

- ``PYCLAW_HOME`` points at a fresh temporary directory for each test, ``XDG_DATA_HOME`` and
  ``XDG_CONFIG_HOME`` too (so a keyring file backend never touches the real one), and every
  ``PYCLAW_SECRET_*`` variable is removed.
- No test reaches the network beyond loopback, in the spirit of python-telegram-bot's
  ``OfflineRequest``: ``socket.getaddrinfo`` and ``socket.socket.connect``/``connect_ex`` refuse any
  host that is not ``localhost``, ``127.0.0.0/8`` or ``::1`` with a ``NetworkBlockedError``, and the
  test that tried fails, even if the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class NetworkBlockedError(OSError):
    """A test tried to reach a host other than loopback."""


def is_loopback_host(host: object, *, allow_unspecified: bool = False) -> bool:
    """Whether ``host`` (a name or an address, str or bytes) stays on this machine."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    if allow_unspecified and name in {"", "0.0.0.0", "::"}:  # noqa: S104 - binding, not connecting
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class NetworkGuard:
    """Patches the socket module; remembers every refused attempt."""

    Error = NetworkBlockedError
    is_loopback = staticmethod(is_loopback_host)

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self._lock = threading.Lock()
        self._saved: list[tuple[object, str, Any]] = []

    def _refuse(self, what: str) -> NetworkBlockedError:
        with self._lock:
            self.blocked.append(what)
        return NetworkBlockedError(
            f"network access blocked in tests: {what} (tests may only reach 127.0.0.1 or ::1)"
        )

    def install(self) -> None:
        real_getaddrinfo: Callable[..., Any] = socket.getaddrinfo
        real_connect: Callable[..., Any] = socket.socket.connect
        real_connect_ex: Callable[..., Any] = socket.socket.connect_ex
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None and not is_loopback_host(host, allow_unspecified=True):
                raise guard._refuse(f"getaddrinfo({host!r}, {port!r})")
            return real_getaddrinfo(host, port, *args, **kwargs)

        def check_address(sock: socket.socket, address: object) -> None:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                return
            host = address
            if isinstance(address, tuple):
                parts = cast("tuple[object, ...]", address)
                host = parts[0] if parts else None
            if not is_loopback_host(host, allow_unspecified=True):
                raise guard._refuse(f"connect to {address!r}")

        def connect(sock: socket.socket, address: Any) -> Any:
            check_address(sock, address)
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            check_address(sock, address)
            return real_connect_ex(sock, address)

        self._patch(socket, "getaddrinfo", getaddrinfo)
        self._patch(socket.socket, "connect", connect)
        self._patch(socket.socket, "connect_ex", connect_ex)

    def _patch(self, owner: object, name: str, value: Any) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def take(self) -> list[str]:
        with self._lock:
            taken, self.blocked = self.blocked, []
        return taken


_GUARD = NetworkGuard()


def pytest_configure(config: pytest.Config) -> None:
    del config
    _GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    del config
    _GUARD.uninstall()


@pytest.fixture
def network_guard() -> NetworkGuard:
    """The active guard, for tests that provoke refusals on purpose (call ``take()`` afterwards)."""
    return _GUARD


@pytest.fixture(autouse=True)
def offline_guard() -> Iterator[None]:
    """Fail the test if it tried to reach a non-loopback host, even if the error was swallowed."""
    _GUARD.take()
    yield
    attempts = _GUARD.take()
    if attempts:
        pytest.fail(
            "test tried to reach the network beyond loopback: " + "; ".join(attempts[:3]),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def pyclaw_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point PYCLAW_HOME (and the XDG data/config dirs) at fresh temporary directories."""
    base = tmp_path_factory.mktemp("env")
    home = base / "pyclaw-home"
    monkeypatch.setenv("PYCLAW_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "xdg-config"))
    for name in list(os.environ):
        if name.startswith("PYCLAW_SECRET_"):
            monkeypatch.delenv(name)
    return home
