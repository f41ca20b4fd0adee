"""``RedactingArtifactStore``: an ``ArtifactStore`` wrapper that removes secrets before storing."""

from __future__ import annotations

import asyncio
import codecs

from pyclaw.meta import ArtifactRef, ArtifactStore, Redactor

_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/jsonl",
        "application/xml",
        "application/javascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/x-www-form-urlencoded",
    }
)
_OFFLOAD_BYTES = 64_000
"""Larger payloads are redacted in a worker thread, off the event loop."""


def _split_media_type(media_type: str) -> tuple[str, str | None]:
    """The lower-case ``type/subtype`` and the ``charset`` parameter, if any."""
    essence, *params = (p.strip() for p in media_type.split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return essence.lower(), charset


def is_text_media_type(media_type: str) -> bool:
    """True for media types whose bytes are text: ``text/*``, JSON, XML, YAML and friends
    (``+json``/``+xml`` suffixes included)."""
    essence, _ = _split_media_type(media_type)
    return (
        essence.startswith("text/")
        or essence in _TEXT_TYPES
        or essence.endswith(("+json", "+xml", "+yaml"))
    )


def redact_bytes(data: bytes, media_type: str, redactor: Redactor) -> bytes:
    """``data`` redacted when ``media_type`` is text-like, else ``data`` itself.

    Text is decoded with its declared charset (UTF-8 by default); bytes that do not decode are
    carried through unchanged (``surrogateescape``). Unchanged text returns the same bytes object.
    """
    if not data or not is_text_media_type(media_type):
        return data
    _, charset = _split_media_type(media_type)
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8"
    try:
        text = data.decode(encoding, errors="surrogateescape")
    except UnicodeError:
        encoding = "utf-8"
        text = data.decode(encoding, errors="surrogateescape")
    redacted = redactor.redact(text)
    if redacted == text:
        return data
    return redacted.encode(encoding, errors="surrogateescape")


class RedactingArtifactStore:
    """An ``ArtifactStore`` that redacts secrets from text-like artifacts before ``put``.

    Text media types (``text/*``, ``application/json``, XML, YAML, ``+json``/``+xml`` types) are
    decoded, redacted and re-encoded, so the stored bytes and the returned ref's sha256 are those of
    the redacted text; the artifact ``name`` is redacted too. Binary media types (images, PDFs,
    ``application/octet-stream``) are stored untouched: a secret inside a binary blob is not found.
    ``get`` and ``exists`` go straight to the wrapped store.
    """

    def __init__(self, inner: ArtifactStore, redactor: Redactor) -> None:
        self._inner = inner
        self._redactor = redactor

    @property
    def inner(self) -> ArtifactStore:
        return self._inner

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        if len(data) > _OFFLOAD_BYTES:
            data = await asyncio.to_thread(redact_bytes, data, media_type, self._redactor)
        else:
            data = redact_bytes(data, media_type, self._redactor)
        if name is not None:
            name = self._redactor.redact(name)
        return await self._inner.put(data, media_type=media_type, name=name)

    async def get(self, ref: ArtifactRef | str) -> bytes:
        return await self._inner.get(ref)

    async def exists(self, ref: ArtifactRef | str) -> bool:
        return await self._inner.exists(ref)
