"""Rendering a payload for storage: canonical JSON, then the redactor, checked to still parse."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from pyclaw.meta import EventPayload, Redactor, StorageError, parse_payload, payload_json
from pyclaw.session._records import PreparedPayload


def prepare(
    payload: EventPayload,
    redactor: Redactor | None,
    render: Callable[[EventPayload], str] = payload_json,
) -> PreparedPayload:
    """The text to store for ``payload`` (redacted when a redactor is given).

    ``render`` must give exactly ``payload_json(payload)`` (``PayloadRenderer.render`` does, faster).

    When redaction changed the text, the payload is re-parsed from it, so the returned event
    carries exactly what was stored; a redaction that breaks the JSON or the kind is refused.
    """
    text = render(payload)
    if redactor is None:
        return PreparedPayload(payload, text)
    redacted = redactor.redact(text)
    if redacted == text:
        return PreparedPayload(payload, text)
    try:
        parsed = parse_payload(redacted)
    except ValidationError as exc:
        raise StorageError(
            f"redaction made a {payload.kind!r} payload invalid ({exc.error_count()} errors); "
            "event not written"
        ) from exc
    if parsed.kind != payload.kind:
        raise StorageError(
            f"redaction changed a payload's kind from {payload.kind!r} to {parsed.kind!r}; "
            "event not written"
        )
    return PreparedPayload(parsed, redacted)
