"""Cleaning a pydantic JSON Schema into a tool-parameter schema the providers accept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from pyclaw.meta import UsageError

Schema = dict[str, Any]

STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "description",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
"""The keywords OpenAI's strict mode accepts (the ones ``clean_schema`` can produce)."""

STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_DROPPED = frozenset(
    {"title", "$schema", "discriminator", "examples", "readOnly", "writeOnly", "deprecated"}
)
_AS_TEXT = {
    "minLength": "length >= {}",
    "maxLength": "length <= {}",
    "uniqueItems": "items must be unique",
    "minProperties": "at least {} entries",
    "maxProperties": "at most {} entries",
}
"""Constraints strict mode rejects: moved into the description (validation still enforces them)."""


_NESTING = frozenset(
    {"anyOf", "oneOf", "properties", "items", "additionalProperties", "prefixItems"}
)


def _with_note(description: object, note: str) -> str:
    return f"{description} ({note})" if isinstance(description, str) and description else note


def _allows_null(schema: Schema) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    options = cast("list[Schema]", schema.get("anyOf", []))
    return any(_allows_null(option) for option in options)


def _nullable(schema: Schema, default: object) -> Schema:
    """An optional property made nullable, its description saying what null means."""
    given = default is not ...
    if _allows_null(schema):
        note = f"default {json.dumps(default)}" if given else "optional"
        return {**schema, "description": _with_note(schema.get("description"), note)}
    note = f"null for the default, {json.dumps(default)}" if given else "null if not given"
    inner = {k: v for k, v in schema.items() if k != "description"}
    options = inner["anyOf"] if set(inner) == {"anyOf"} else [inner]
    return {
        "anyOf": [*options, {"type": "null"}],
        "description": _with_note(schema.get("description"), note),
    }


class _Cleaner:
    def __init__(self, defs: Mapping[str, Schema], *, strict: bool, where: str) -> None:
        self.defs = defs
        self.strict = strict
        self.where = where

    def node(self, schema: Schema, stack: frozenset[str] = frozenset()) -> Schema:
        s = dict(schema)
        s.pop("$defs", None)
        if "$ref" in s:
            name = str(s.pop("$ref")).rsplit("/", 1)[-1]
            if name in stack:
                raise UsageError(
                    f"{self.where}: the recursive model {name} cannot be used for tool arguments"
                )
            if name not in self.defs:
                raise UsageError(f"{self.where}: the schema refers to an unknown definition {name}")
            return {**self.node(self.defs[name], stack | {name}), **self.node(s, stack)}
        if isinstance(s.get("allOf"), list) and len(s["allOf"]) == 1:
            only = cast("Schema", s.pop("allOf")[0])
            return {**self.node(only, stack), **self.node(s, stack)}
        out: Schema = {}
        notes: list[str] = []
        for key, value in s.items():
            if key in _DROPPED or (key == "default" and self.strict):
                continue
            if key in _NESTING:
                out["anyOf" if key == "oneOf" else key] = self._nested(key, value, stack)
            elif self.strict and key in _AS_TEXT:
                notes.append(_AS_TEXT[key].format(value))
            elif self.strict and key == "format" and value not in STRICT_FORMATS:
                notes.append(f"format: {value}")
            else:
                out[key] = value
        if "properties" in out:
            self._object(out, s)
        if notes:
            out["description"] = _with_note(out.get("description"), "; ".join(notes))
        return out

    def _nested(self, key: str, value: object, stack: frozenset[str]) -> object:
        """A keyword's value holding subschemas, cleaned: a name → schema map (``properties``), a
        list of schemas, or one schema; anything else (``additionalProperties: false``) as is."""
        if isinstance(value, list):
            return [self.node(item, stack) for item in cast("list[Schema]", value)]
        if not isinstance(value, dict):
            return value
        if key == "properties":
            return {k: self.node(v, stack) for k, v in cast("dict[str, Schema]", value).items()}
        return self.node(cast("Schema", value), stack)

    def _object(self, out: Schema, raw: Schema) -> None:
        """Close the object and settle ``required``: every property in strict form."""
        props = cast("dict[str, Schema]", out["properties"])
        raw_props = cast("dict[str, Schema]", raw["properties"])
        required = [k for k in props if k in raw.get("required", [])]
        out.setdefault("additionalProperties", False)
        if not self.strict:
            out["required"] = required
            return
        for key in props:
            if key in required or "const" in props[key]:
                continue  # a const (a union's tag) is simply sent: no null needed
            props[key] = _nullable(props[key], raw_props[key].get("default", ...))
        out["required"] = list(props)


def clean_schema(schema: Schema, *, strict: bool = True, where: str = "tool") -> Schema:
    """``schema`` (a pydantic model's JSON Schema) with ``$defs`` inlined and titles removed, every
    object closed (``additionalProperties: false``), and, when ``strict``, every property required
    (optional ones nullable) and the keywords strict mode rejects moved into descriptions."""
    defs = cast("dict[str, Schema]", schema.get("$defs", {}))
    out = _Cleaner(defs, strict=strict, where=where).node(schema)
    out.pop("description", None)  # the model's docstring: it is the tool's description
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    out.setdefault("required", [])
    out.setdefault("additionalProperties", False)
    return out


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    """Whether OpenAI's strict mode accepts ``schema`` as is: only supported keywords, every object
    closed with all its properties required (``dict[str, X]`` fields and tuples are not)."""
    if not set(schema) <= STRICT_KEYWORDS:
        return False
    if schema.get("format", "date") not in STRICT_FORMATS:
        return False
    children: list[Mapping[str, Any]] = []
    if schema.get("type") == "object" or "properties" in schema:
        props = cast("dict[str, Mapping[str, Any]]", schema.get("properties", {}))
        if schema.get("additionalProperties") is not False:
            return False
        if sorted(schema.get("required", [])) != sorted(props):
            return False
        children.extend(props.values())
    items = schema.get("items")
    if isinstance(items, Mapping):
        children.append(cast("Mapping[str, Any]", items))
    children.extend(cast("list[Mapping[str, Any]]", schema.get("anyOf", [])))
    return all(is_strict_compatible(child) for child in children)
