"""The root conftest's safety net: temporary PYCLAW_HOME, no secrets from the environment, no network."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

Guard = Any
"""The root conftest's ``NetworkGuard`` (conftest modules cannot be imported by name)."""


def test_pyclaw_home_is_a_temporary_directory(pyclaw_home: Path) -> None:
    assert os.environ["PYCLAW_HOME"] == str(pyclaw_home)
    assert Path.home() / ".pyclaw" != pyclaw_home
    assert pyclaw_home.parent.is_dir()


def test_secret_variables_are_cleared() -> None:
    assert not [name for name in os.environ if name.startswith("PYCLAW_SECRET_")]


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", b"127.0.0.1", "::ffff:127.0.0.1"],
)
def test_loopback_hosts_are_allowed(network_guard: Guard, host: str | bytes) -> None:
    assert network_guard.is_loopback(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "192.168.1.1", "8.8.8.8", "::2", None])
def test_other_hosts_are_refused(network_guard: Guard, host: str | None) -> None:
    assert not network_guard.is_loopback(host)


def test_loopback_connection_works() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            conn, _ = server.accept()
            conn.close()


async def test_asyncio_loopback_connection_works() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.wait_for(asyncio.open_connection("localhost", port), 2)
    writer.write(b"ping\n")
    assert await asyncio.wait_for(reader.readline(), 2) == b"ping\n"
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


def test_name_resolution_of_a_remote_host_is_refused(network_guard: Guard) -> None:
    with pytest.raises(network_guard.Error, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(network_guard.Error):
        socket.create_connection(("example.com", 443), timeout=1)
    assert len(network_guard.take()) == 2


def test_direct_connect_to_a_remote_address_is_refused(network_guard: Guard) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(network_guard.Error, match=r"192\.0\.2\.1"),
    ):
        sock.connect(("192.0.2.1", 80))
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock6,
        pytest.raises(network_guard.Error),
    ):
        sock6.connect_ex(("2001:db8::1", 80, 0, 0))
    assert len(network_guard.take()) == 2


async def test_asyncio_connection_to_a_remote_host_is_refused(network_guard: Guard) -> None:
    with pytest.raises(network_guard.Error):
        await asyncio.open_connection("example.com", 443)
    assert network_guard.take()


def test_guard_is_thread_safe(network_guard: Guard) -> None:
    errors: list[BaseException] = []

    def reach() -> None:
        try:
            socket.getaddrinfo("example.net", 80)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reach) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 8
    assert len(network_guard.take()) == 8


def test_a_swallowed_attempt_still_fails_the_test(tmp_path: Path) -> None:
    root_conftest = Path(__file__).resolve().parent.parent / "conftest.py"
    (tmp_path / "conftest.py").write_text(root_conftest.read_text())
    (tmp_path / "test_swallow.py").write_text(
        "import socket, threading\n"
        "\n"
        "def test_swallowed():\n"
        "    def reach():\n"
        "        try:\n"
        "            socket.create_connection(('example.org', 80), timeout=1)\n"
        "        except OSError:\n"
        "            pass\n"
        "    t = threading.Thread(target=reach)\n"
        "    t.start()\n"
        "    t.join()\n"
        "\n"
        "def test_quiet():\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "test tried to reach the network beyond loopback" in result.stdout
    assert "example.org" in result.stdout
    assert "2 passed, 1 error" in result.stdout
