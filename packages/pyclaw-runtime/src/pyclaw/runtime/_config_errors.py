"""Turning TOML and pydantic failures into one-line ``ConfigError``s: file, line, key, expectation."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pyclaw.meta import ConfigError
from pyclaw.runtime._config import (
    AgentConfig,
    ConfigFieldError,
    CronConfig,
    ProviderConfig,
    PyClawConfig,
    TelegramConfig,
)
from pyclaw.runtime._toml_lines import locate

Loc = tuple[str | int, ...]

_TOML_POSITION = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$")

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def toml_syntax_error(path: Path, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """``pyclaw.toml:3:8: invalid TOML: Expected '=' after a key…``"""
    match = _TOML_POSITION.match(str(exc))
    if match is None:
        return ConfigError(f"invalid TOML: {exc}", file=str(path))
    message, line, column = match.groups()
    return ConfigError(f"invalid TOML: {message}", file=f"{path}:{line}:{column}")


def dotted(loc: Sequence[str | int]) -> str:
    """``("cron", 0, "name")`` → ``cron[0].name``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = f'"{part}"' if not re.fullmatch(r"[A-Za-z0-9_-]+", part) else part
            text += f".{name}" if text else name
    return text


def _section_model(loc: Loc) -> type[BaseModel] | None:
    """The model of the table at ``loc`` (whose keys an unknown key should be compared with)."""
    if not loc:
        return PyClawConfig
    sections: dict[str, type[BaseModel]] = {
        "providers": ProviderConfig,
        "agents": AgentConfig,
        "cron": CronConfig,
    }
    if loc == ("telegram",):
        return TelegramConfig
    if len(loc) == 2 and isinstance(loc[0], str):
        return sections.get(loc[0])
    return None


def _literal_choices(error: Mapping[str, Any]) -> str | None:
    expected = str(error.get("ctx", {}).get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    return f"one of {', '.join(choices)}" if choices else None


Described = tuple[Loc, str, str | None, str | None]
"""``(loc, message, expected, hint)``."""


def _unknown_key(loc: Loc, error: Mapping[str, Any]) -> Described:
    del error
    key = str(loc[-1])
    model = _section_model(loc[:-1])
    valid = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    if close:
        return loc, f"unknown key {key!r}", None, f"did you mean {close[0]!r}?"
    return loc, f"unknown key {key!r}", f"one of {', '.join(valid)}" if valid else None, None


def _value_error(loc: Loc, error: Mapping[str, Any]) -> Described:
    problem = error.get("ctx", {}).get("error")
    if isinstance(problem, ConfigFieldError):
        if isinstance(problem.key, tuple):
            extra: Loc = problem.key
        else:
            extra = (problem.key,) if not loc or loc[-1] != problem.key else ()
        return loc + extra, str(problem), problem.expected, None
    return loc, str(problem) if problem is not None else str(error["msg"]), None, None


_DESCRIBE: dict[str, Callable[[Loc, Mapping[str, Any]], Described]] = {
    "extra_forbidden": _unknown_key,
    "value_error": _value_error,
    "missing": lambda loc, _: (loc, "missing required key", None, None),
    "literal_error": lambda loc, e: (
        loc,
        f"invalid value {e.get('input')!r}",
        _literal_choices(e),
        None,
    ),
    "string_pattern_mismatch": lambda loc, e: (
        loc,
        f"invalid name {e.get('input')!r}",
        "1-64 letters, digits, '_', '.' or '-'",
        None,
    ),
}


def _describe(error: Mapping[str, Any]) -> Described:
    """What one pydantic error means for someone editing ``pyclaw.toml``."""
    loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
    kind = str(error["type"])
    if kind in _DESCRIBE:
        return _DESCRIBE[kind](loc, error)
    if kind in _EXPECTED:
        return loc, f"wrong type ({type(error.get('input')).__name__})", _EXPECTED[kind], None
    message = str(error["msg"])
    return loc, message[:1].lower() + message[1:], None, None


def validation_error(path: Path | None, text: str, exc: ValidationError) -> ConfigError:
    """One line for the first problem (and a count of the others)."""
    errors = exc.errors()
    loc, message, expected, hint = _describe(errors[0])
    if len(errors) > 1:
        more = len(errors) - 1
        hint = f"{hint}; " if hint else ""
        hint += f"and {more} more problem{'s' if more > 1 else ''}"
    key = dotted(loc)
    file = None
    if path is not None:
        line = locate(text, loc)
        file = f"{path}:{line}" if line is not None else str(path)
    return ConfigError(message, file=file, key=key or None, expected=expected, hint=hint)
