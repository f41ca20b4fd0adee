"""Stored forms shared by the backends: an event as stored, and the rendered payload to store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyclaw.meta import ErrorInfo, EventPayload, SessionEvent, format_ts, parse_payload

INTERRUPTED = ErrorInfo(
    type="Interrupted", message="the process stopped before this run finished", retryable=True
)
"""The error recorded on runs closed by ``mark_interrupted``."""


@dataclass(frozen=True, slots=True)
class PreparedPayload:
    """A payload ready to append: the (possibly redacted) payload, its exact stored text, and the
    artifact sha256 holding that text when it is too large to keep inline."""

    payload: EventPayload
    text: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event exactly as a backend stores it (header columns plus the payload text or ref)."""

    id: str
    session_id: str
    seq: int
    run_id: str | None
    ts: str
    kind: str
    text: str | None
    ref: str | None
    payload_sha256: str
    prev_hash: str
    hash: str

    def to_event(self, text: str | None = None) -> SessionEvent:
        """The ``SessionEvent``; ``text`` supplies the payload when it is stored as an artifact."""
        body = self.text if text is None else text
        if body is None:
            raise ValueError(f"event {self.id}: payload text not loaded")
        return SessionEvent(
            id=self.id,
            session_id=self.session_id,
            seq=self.seq,
            run_id=self.run_id,
            ts=datetime.fromisoformat(self.ts),
            payload=parse_payload(body),
            payload_sha256=self.payload_sha256,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    @classmethod
    def from_event(cls, event: SessionEvent, prepared: PreparedPayload) -> StoredEvent:
        return cls(
            id=event.id,
            session_id=event.session_id,
            seq=event.seq,
            run_id=event.run_id,
            ts=format_ts(event.ts),
            kind=event.kind,
            text=None if prepared.ref is not None else prepared.text,
            ref=prepared.ref,
            payload_sha256=event.payload_sha256,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
