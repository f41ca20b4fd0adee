"""Argument matching shared by rules and grants: ``{argument: regex}`` that must fullmatch."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import JsonValue, TypeAdapter, ValidationError

from pyclaw.meta import canonical_json

ArgPatterns = tuple[tuple[str, re.Pattern[str]], ...]
"""Compiled ``(argument name, regex)`` pairs; every one must match."""

_PATTERN = TypeAdapter(dict[str, str])


def compile_args(args: Mapping[str, str]) -> ArgPatterns:
    """Compile ``{argument: regex}``; raises ``ValueError`` naming the argument on a bad regex."""
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in args.items():
        try:
            compiled.append((name, re.compile(pattern)))
        except re.error as exc:
            raise ValueError(f"invalid regex for argument {name!r}: {pattern!r}: {exc}") from exc
    return tuple(compiled)


def argument_text(value: JsonValue) -> str:
    """What a pattern is matched against: a string as is, anything else as canonical JSON."""
    return value if isinstance(value, str) else canonical_json(value)


def args_match(patterns: ArgPatterns, arguments: Mapping[str, JsonValue]) -> bool:
    """Whether every pattern fullmatches its argument; a missing argument never matches."""
    for name, regex in patterns:
        if name not in arguments:
            return False
        if regex.fullmatch(argument_text(arguments[name])) is None:
            return False
    return True


def encode_argument_pattern(args: Mapping[str, str]) -> str:
    """The ``Grant.argument_pattern`` text for ``{argument: regex}`` (canonical JSON, validated)."""
    compile_args(args)
    return canonical_json(dict(args))


def decode_argument_pattern(text: str) -> ArgPatterns:
    """Parse and compile a ``Grant.argument_pattern``; raises ``ValueError`` when malformed."""
    try:
        pairs = _PATTERN.validate_json(text)
    except ValidationError:
        raise ValueError(
            f"argument pattern {text!r} is not a JSON object of argument names to regexes"
        ) from None
    return compile_args(pairs)
