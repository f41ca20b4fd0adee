"""Tool definitions from pydantic models, and tool-call arguments back into those models.

``tool_spec`` turns a model into a ``ToolSpec`` whose JSON Schema both OpenAI's strict mode and
Anthropic accept: ``$defs`` references inlined, no ``title`` noise, ``additionalProperties: false``
on every object and, in strict form (the default), every property listed in ``required`` with the
optional ones made nullable ("null means the default", which the description says).
``parse_tool_args`` validates a model's call against the model; null for such an optional field
means "use the default", and a validation failure becomes an ``ErrorInfo`` the brain can show the
model so it can correct itself.
"""

from __future__ import annotations

import copy
import inspect
import re
from typing import TypeVar, cast

from pydantic import BaseModel, JsonValue, ValidationError

from pyclaw.llm._schema import clean_schema
from pyclaw.llm._toolargs import parse_tool_arguments
from pyclaw.meta import ErrorInfo, RiskLevel, ToolCall, ToolSpec, UsageError

M = TypeVar("M", bound=BaseModel)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SUFFIXES = ("_arguments", "_args", "_params", "_input")
_MAX_ERRORS = 10


def default_tool_name(model: type[BaseModel]) -> str:
    """``GetWeatherArgs`` → ``get_weather``: snake case, without an ``Args``-like suffix."""
    name = _CAMEL.sub("_", model.__name__).lower()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def tool_spec(
    model: type[BaseModel],
    *,
    name: str | None = None,
    description: str | None = None,
    risk: RiskLevel = RiskLevel.SAFE,
    strict: bool = True,
) -> ToolSpec:
    """A ``ToolSpec`` for a tool whose arguments are ``model``.

    ``name`` defaults to ``default_tool_name(model)``, ``description`` to the model's docstring.
    ``strict=False`` keeps the ordinary form instead (only fields without a default are required,
    defaults stay as ``default``), which OpenAI accepts in non-strict mode only.
    """
    own_doc = model.__doc__  # not inherited: BaseModel's own docstring never leaks in
    text = description if description is not None else own_doc and inspect.cleandoc(own_doc)
    tool = name or default_tool_name(model)
    if not text:
        raise UsageError(
            f"tool {tool!r} needs a description: pass description= or give {model.__name__} "
            "a docstring"
        )
    schema = model.model_json_schema()
    parameters = clean_schema(schema, strict=strict, where=model.__name__)
    return ToolSpec(
        name=tool,
        description=text,
        parameters=cast("dict[str, JsonValue]", parameters),
        risk=risk,
    )


def parse_tool_args(model: type[M], call: ToolCall) -> M | ErrorInfo:
    """``call``'s arguments as a ``model`` instance, or an ``ErrorInfo`` saying what is wrong.

    Malformed JSON (a call carrying ``raw_arguments``) and validation failures both come back as
    ``ErrorInfo`` with the tool name and call id in ``details``; nothing raises.
    """
    arguments: dict[str, JsonValue] = call.arguments
    if call.raw_arguments is not None:
        parsed, error = parse_tool_arguments(call.raw_arguments)
        if error is not None:
            details: dict[str, JsonValue] = {**error.details, "call_id": call.id, "tool": call.name}
            return error.model_copy(update={"details": details})
        arguments = parsed
    try:
        return _validate(model, arguments)
    except ValidationError as exc:
        return _validation_error(call, exc)


def _validation_error(call: ToolCall, exc: ValidationError) -> ErrorInfo:
    problems: list[JsonValue] = []
    lines: list[str] = []
    for err in exc.errors(include_url=False)[:_MAX_ERRORS]:
        where = ".".join(str(part) for part in err["loc"]) or "(arguments)"
        message = err["msg"]
        if err["type"] != "missing":
            message += f" (got {_clip(repr(err.get('input')))})"
        lines.append(f"{where}: {message}")
        problems.append({"loc": where, "type": err["type"], "msg": err["msg"]})
    more = exc.error_count() - len(lines)
    suffix = f"; and {more} more" if more > 0 else ""
    return ErrorInfo(
        type="InvalidToolArguments",
        message=f"invalid arguments for tool {call.name!r}: {'; '.join(lines)}{suffix}",
        details={"call_id": call.id, "tool": call.name, "errors": problems},
    )


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _without(data: object, loc: tuple[int | str, ...]) -> bool:
    """Delete the value at pydantic error location ``loc`` from ``data``; skip location parts that
    are not keys (a union's tag or branch name). Whether something was deleted."""
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            mapping = cast("dict[str, object]", node)
            if not isinstance(part, str) or part not in mapping:
                continue
            if last:
                del mapping[part]
                return True
            node = mapping[part]
        elif isinstance(node, list) and isinstance(part, int):
            node = cast("list[object]", node)[part]
    return False


def _validate(model: type[M], arguments: dict[str, JsonValue]) -> M:
    """Validate; a ``null`` the model gave for a non-nullable field means "not given" (the strict
    schema lets it send null for every optional field), so such nulls are dropped and the
    arguments validated once more."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        nulls = [e["loc"] for e in exc.errors() if e.get("input", ...) is None]
        data = copy.deepcopy(arguments)
        removed = [_without(data, loc) for loc in nulls]  # every one, no short-circuit
        if not any(removed):
            raise
        return model.model_validate(data)
