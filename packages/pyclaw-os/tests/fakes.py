"""In-memory fakes for pyclaw-os's tests: an artifact store, a memory store, a workspace world.

Loaded by ``conftest.py`` as the module ``pyclaw_os_fakes`` (a unique name, so it cannot clash
with other packages' helpers under ``--import-mode=importlib``).
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pyclaw.meta import (
    ArtifactNotFoundError,
    ArtifactRef,
    MemoryHit,
    MemoryItem,
    MemoryKind,
    NotFoundError,
    utcnow,
)

SECRET = "TOP-SECRET-OUTSIDE\n"


class MemoryArtifacts:
    """An in-memory ``ArtifactStore``."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return ArtifactRef(sha256=digest, size=len(data), media_type=media_type, name=name)

    async def get(self, ref: ArtifactRef | str) -> bytes:
        key = ref.sha256 if isinstance(ref, ArtifactRef) else ref.rsplit(":", 1)[-1]
        try:
            return self.blobs[key]
        except KeyError:
            raise ArtifactNotFoundError(f"no artifact {key}") from None

    async def exists(self, ref: ArtifactRef | str) -> bool:
        key = ref.sha256 if isinstance(ref, ArtifactRef) else ref.rsplit(":", 1)[-1]
        return key in self.blobs


class LoopbackHTTPServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 (optionally TLS) serving in a daemon thread."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
    ) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


class FakeMemory:
    """A tiny ``MemoryStore``: substring search, score = number of query words found."""

    def __init__(self) -> None:
        self.items: dict[str, MemoryItem] = {}

    def _live(self, item: MemoryItem) -> bool:
        return item.expires_at is None or item.expires_at > utcnow()

    async def add(self, item: MemoryItem) -> MemoryItem:
        self.items[item.id] = item
        return item

    async def get(self, item_id: str) -> MemoryItem:
        item = self.items.get(item_id)
        if item is None or not self._live(item):
            raise NotFoundError(f"no memory {item_id}")
        return item

    async def search(
        self,
        query: str,
        *,
        agent: str,
        limit: int = 5,
        kinds: Sequence[MemoryKind] | None = None,
    ) -> list[MemoryHit]:
        words = query.lower().split()
        hits = [
            MemoryHit(item=item, score=float(sum(w in item.text.lower() for w in words)))
            for item in self.items.values()
            if item.agent == agent and self._live(item) and (kinds is None or item.kind in kinds)
        ]
        hits = [hit for hit in hits if hit.score > 0]
        return sorted(hits, key=lambda hit: -hit.score)[:limit]

    async def list(self, *, agent: str, limit: int = 100) -> list[MemoryItem]:
        items = [i for i in self.items.values() if i.agent == agent and self._live(i)]
        return sorted(items, key=lambda i: i.created_at, reverse=True)[:limit]

    async def forget(self, item_id: str) -> None:
        self.items.pop(item_id, None)


@dataclass
class World:
    """A workspace and, beside it, an outside directory holding a secret file."""

    workspace: Path
    outside: Path

    @property
    def secret(self) -> Path:
        return self.outside / "secret.txt"

    def outside_snapshot(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.outside)): p.read_bytes()
            for p in sorted(self.outside.rglob("*"))
            if p.is_file() and not p.is_symlink()
        }
