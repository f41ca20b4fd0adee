"""Redaction at the sinks: structlog processor, outbound text, artifact store wrapper."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from pyclaw.meta import ArtifactNotFoundError, ArtifactRef, ArtifactStore, sha256_hex
from pyclaw.safety import (
    RedactingArtifactStore,
    SecretRedactor,
    is_text_media_type,
    redact_outbound,
    redact_structlog,
)

SECRET = "pa55word-Secret-value"
MARK = "[REDACTED:db]"


@pytest.fixture
def redactor() -> SecretRedactor:
    return SecretRedactor({"db": SECRET})


class MemoryArtifacts:
    """A minimal in-memory ``ArtifactStore`` for the wrapper to write to."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.names: dict[str, str | None] = {}

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef:
        digest = sha256_hex(data)
        self.blobs[digest] = data
        self.names[digest] = name
        return ArtifactRef(sha256=digest, size=len(data), media_type=media_type, name=name)

    async def get(self, ref: ArtifactRef | str) -> bytes:
        key = ref.sha256 if isinstance(ref, ArtifactRef) else ref
        try:
            return self.blobs[key]
        except KeyError:
            raise ArtifactNotFoundError(f"no artifact {key}") from None

    async def exists(self, ref: ArtifactRef | str) -> bool:
        key = ref.sha256 if isinstance(ref, ArtifactRef) else ref
        return key in self.blobs


def test_structlog_processor_redacts_every_string(redactor: SecretRedactor) -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    process = redact_structlog(redactor)
    event = {
        "event": f"login with {SECRET}",
        "url": f"https://db/?pw={SECRET}",
        "nested": {"list": [SECRET, 3, (SECRET, "ok")], SECRET: "key as well"},
        "when": when,
        "count": 7,
    }
    out = process(None, "info", event)
    assert out == {
        "event": f"login with {MARK}",
        "url": f"https://db/?pw={MARK}",
        "nested": {"list": [MARK, 3, (MARK, "ok")], MARK: "key as well"},
        "when": when,
        "count": 7,
    }
    assert SECRET not in json.dumps(out, default=str)


def test_structlog_processor_redacts_str_subclasses(redactor: SecretRedactor) -> None:
    class Tagged(str):
        __slots__ = ()

    out = redact_structlog(redactor)(None, "info", {"event": Tagged(f"pw {SECRET}"), "n": True})
    assert out == {"event": f"pw {MARK}", "n": True}


def test_structlog_processor_keeps_a_clean_event_as_is(redactor: SecretRedactor) -> None:
    event: dict[str, object] = {"event": "hello", "n": [1, "two"]}
    assert redact_structlog(redactor)(None, "debug", event) is event


def test_redact_outbound(redactor: SecretRedactor) -> None:
    assert redact_outbound(f"your password is {SECRET}", redactor) == f"your password is {MARK}"
    assert redact_outbound("hello", redactor) == "hello"


@pytest.mark.parametrize(
    ("media_type", "text"),
    [
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("Application/JSON", True),
        ("application/vnd.api+json", True),
        ("application/x-ndjson", True),
        ("image/svg+xml", True),
        ("application/octet-stream", False),
        ("image/png", False),
        ("application/pdf", False),
    ],
)
def test_text_media_types(media_type: str, text: bool) -> None:
    assert is_text_media_type(media_type) is text


async def test_artifact_wrapper_redacts_text_before_storing(redactor: SecretRedactor) -> None:
    inner = MemoryArtifacts()
    store = RedactingArtifactStore(inner, redactor)
    assert isinstance(store, ArtifactStore)
    body = json.dumps({"password": SECRET, "b64": base64.b64encode(SECRET.encode()).decode()})
    ref = await store.put(body.encode(), media_type="application/json", name=f"dump-{SECRET}.json")
    stored = await store.get(ref)
    assert json.loads(stored) == {"password": MARK, "b64": MARK}
    assert ref.sha256 == sha256_hex(stored)
    assert ref.name == f"dump-{MARK}.json"
    assert SECRET.encode() not in b"".join(inner.blobs.values())
    assert await store.exists(ref)


async def test_artifact_wrapper_respects_the_charset(redactor: SecretRedactor) -> None:
    inner = MemoryArtifacts()
    store = RedactingArtifactStore(inner, redactor)
    data = f"café {SECRET} ñ".encode("latin-1")
    ref = await store.put(data, media_type="text/plain; charset=ISO-8859-1")
    assert (await store.get(ref)).decode("latin-1") == f"café {MARK} ñ"


async def test_artifact_wrapper_keeps_undecodable_bytes(redactor: SecretRedactor) -> None:
    inner = MemoryArtifacts()
    store = RedactingArtifactStore(inner, redactor)
    data = b"\xff\xfe broken " + SECRET.encode() + b" \x80"
    ref = await store.put(data, media_type="text/plain")
    assert await store.get(ref) == b"\xff\xfe broken " + MARK.encode() + b" \x80"


async def test_artifact_wrapper_leaves_binary_alone(redactor: SecretRedactor) -> None:
    inner = MemoryArtifacts()
    store = RedactingArtifactStore(inner, redactor)
    data = b"\x89PNG\r\n" + SECRET.encode()
    ref = await store.put(data, media_type="image/png")
    assert await store.get(ref) == data
    clean = b"no secrets here"
    ref = await store.put(clean, media_type="text/plain")
    assert ref.sha256 == sha256_hex(clean)


async def test_artifact_wrapper_redacts_large_text_off_the_loop(redactor: SecretRedactor) -> None:
    inner = MemoryArtifacts()
    store = RedactingArtifactStore(inner, redactor)
    data = ("line of log text\n" * 10_000 + SECRET).encode()
    ref = await store.put(data, media_type="text/plain")
    stored = await store.get(ref)
    assert stored.endswith(MARK.encode())
    assert SECRET.encode() not in stored
    with pytest.raises(ArtifactNotFoundError):
        await store.get("0" * 64)
