"""Redaction applied to whole models, to log events and to outbound text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import TypeVar, cast

from pyclaw.meta import GuardVetoError, Model, Redactor

M = TypeVar("M", bound=Model)

_Redact = Callable[[str], str]


def _walk(value: object, redact: _Redact) -> tuple[object, bool]:
    """``value`` (JSON-like data) with every string, dict key included, redacted; and whether
    anything changed. Unchanged containers are returned as the same objects."""
    kind = type(value)
    if value is None or kind is int or kind is float or kind is bool:
        return value, False
    if kind is str or isinstance(value, str):  # str subclasses too (enum members, markup)
        text = cast("str", value)
        out = redact(text)
        return out, out != text
    if kind is dict or isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value)
        changed = False
        new: dict[object, object] = {}
        for key, item in items.items():
            new_key, key_changed = _walk(key, redact) if isinstance(key, str) else (key, False)
            new_item, item_changed = _walk(item, redact)
            new[new_key] = new_item
            changed = changed or key_changed or item_changed
        return (new, True) if changed else (items, False)
    if isinstance(value, list | tuple | set | frozenset):
        seq = cast("list[object] | tuple[object, ...] | set[object] | frozenset[object]", value)
        pairs = [_walk(item, redact) for item in seq]
        if not any(changed for _, changed in pairs):
            return seq, False
        items_out = [item for item, _ in pairs]
        rebuilt = items_out if isinstance(seq, list) else type(seq)(items_out)
        return rebuilt, True
    return value, False


def redact_model(model: M, redactor: Redactor) -> M:
    """``model`` with every string in it redacted, validated back into the same type.

    Returns the very same object when nothing matched, so a caller can tell a transform by
    identity. Raises ``GuardVetoError`` when the redacted data no longer validates (a redacted
    field with a strict pattern): sending the unredacted model is never the fallback.
    """
    return redact_within(model, redactor, type(model).__name__)


def redact_within(model: M, redactor: Redactor, whole: str) -> M:
    """``redact_model``; ``whole`` names what ``model`` is part of, for the veto's message."""
    data = model.model_dump(mode="json")
    new, changed = _walk(data, redactor.redact)
    if not changed:
        return model
    try:
        return type(model).model_validate(new)
    except ValueError as exc:  # pydantic's ValidationError
        raise GuardVetoError(
            f"redacting secrets made the {whole} invalid; it was not sent"
        ) from exc


def text_size(value: object) -> int:
    """Roughly how many characters of text ``value`` (a model, or JSON-like data) holds: what
    redacting it scans. Cheap: no copies, no serialization."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Model):
        return sum(text_size(v) for v in cast("dict[str, object]", value.__dict__).values())
    if isinstance(value, dict):
        items = cast("dict[object, object]", value).items()
        return sum(text_size(k) + text_size(v) for k, v in items)
    if isinstance(value, list | tuple):
        return sum(text_size(v) for v in cast("list[object] | tuple[object, ...]", value))
    return 8


def redact_outbound(text: str, redactor: Redactor) -> str:
    """``text`` with secrets removed, for a channel to call right before it sends a message."""
    return redactor.redact(text)


EventDict = MutableMapping[str, object]
StructlogProcessor = Callable[[object, str, EventDict], EventDict]


def redact_structlog(redactor: Redactor) -> StructlogProcessor:
    """A structlog processor that redacts every string in the event dict (keys, values, and
    strings nested in dicts, lists, tuples and sets).

    A plain callable, so pyclaw-safety does not depend on structlog. Install it after the
    processors that turn objects into text (``format_exc_info``, ``StackInfoRenderer``,
    ``TimeStamper``) and right before the renderer: other objects are passed on untouched.
    """

    def processor(logger: object, method_name: str, event_dict: EventDict) -> EventDict:
        del logger, method_name
        new, changed = _walk(event_dict, redactor.redact)
        if not changed:
            return event_dict
        return cast("EventDict", new)

    return processor
