"""``MemoryArtifactStore``: a tiny in-memory ``ArtifactStore`` for tests of payload offloading."""

from __future__ import annotations

import hashlib

from pyclaw.meta import ArtifactCorruptError, ArtifactNotFoundError, ArtifactRef


def _sha(ref: ArtifactRef | str) -> str:
    return ref.sha256 if isinstance(ref, ArtifactRef) else ref.removeprefix("artifact:sha256:")


class MemoryArtifactStore:
    """Content-addressed bytes in a dict, verified on read like a real store.

    ``blobs`` is public so tests can corrupt or drop an artifact behind the store's back.
    """

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.puts = 0

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        self.puts += 1
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = bytes(data)
        return ArtifactRef(sha256=sha, size=len(data), media_type=media_type, name=name)

    async def get(self, ref: ArtifactRef | str) -> bytes:
        sha = _sha(ref)
        data = self.blobs.get(sha)
        if data is None:
            raise ArtifactNotFoundError(f"artifact {sha[:12]}… not found")
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ArtifactCorruptError(
                f"artifact {sha[:12]}… is corrupt: content hash {actual[:12]}… does not match"
            )
        return data

    async def exists(self, ref: ArtifactRef | str) -> bool:
        return _sha(ref) in self.blobs
