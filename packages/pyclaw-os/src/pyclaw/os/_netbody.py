"""Reading an HTTP body safely: a byte cap, bounded decompression, text or binary.

The body is read raw and decompressed here with ``max_length`` so a small gzip bomb cannot expand
past the cap in memory.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass

import httpx

_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/ecmascript",
    "application/x-www-form-urlencoded",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/x-ndjson",
    "application/yaml",
    "application/toml",
    "image/svg+xml",
)


@dataclass(frozen=True)
class Body:
    """What was read: the (decoded) bytes, whether the cap cut it, and any caveat."""

    data: bytes
    truncated: bool
    note: str | None = None


class _Decoder:
    def __init__(self, encoding: str) -> None:
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}.get(encoding)
        self._zlib = zlib.decompressobj(wbits if wbits is not None else zlib.MAX_WBITS)
        self._deflate_raw = encoding == "deflate"  # servers send zlib-wrapped or raw deflate
        self._started = False

    def feed(self, chunk: bytes, limit: int) -> bytes:
        if self._deflate_raw and not self._started:
            self._started = True
            if chunk and (chunk[0] & 0x0F) != 8:  # no zlib header: raw deflate stream
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._zlib.decompress(self._zlib.unconsumed_tail + chunk, limit)


async def read_capped(response: httpx.Response, max_bytes: int) -> Body:
    """Read at most ``max_bytes`` of decoded body from a streamed response."""
    if response.is_stream_consumed:  # already in memory (e.g. a MockTransport response)
        data = response.content
        return Body(data[:max_bytes], truncated=len(data) > max_bytes)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raw = await _collect(response, max_bytes)
        note = f"body is {encoding}-compressed and was not decoded"
        return Body(raw.data, raw.truncated, note)
    if encoding in ("", "identity"):
        return await _collect(response, max_bytes)
    decoder = _Decoder(encoding)
    out = bytearray()
    try:
        async for chunk in response.aiter_raw():
            out += decoder.feed(chunk, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                return Body(bytes(out[:max_bytes]), truncated=True)
    except zlib.error as exc:
        return Body(bytes(out), truncated=False, note=f"body could not be decompressed: {exc}")
    return Body(bytes(out), truncated=False)


async def _collect(response: httpx.Response, max_bytes: int) -> Body:
    out = bytearray()
    async for chunk in response.aiter_raw():
        out += chunk
        if len(out) > max_bytes:
            return Body(bytes(out[:max_bytes]), truncated=True)
    return Body(bytes(out), truncated=False)


def media_type(content_type: str | None) -> str:
    """``text/html; charset=utf-8`` → ``text/html``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip("\"'")
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


def as_text(data: bytes, content_type: str | None) -> str | None:
    """The body as text when it is text (by media type, or sniffed when none), else ``None``."""
    kind = media_type(content_type)
    declared = charset(content_type)
    texty = kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith(("+json", "+xml"))
    if kind and not texty:
        return None
    if not kind and b"\x00" in data[:4096]:
        return None
    decoder = codecs.getincrementaldecoder(declared or "utf-8")
    try:
        return decoder("strict").decode(data, final=False)  # a cut multibyte tail is dropped
    except UnicodeDecodeError:
        if not kind:
            return None
        return decoder("replace").decode(data, final=False)
