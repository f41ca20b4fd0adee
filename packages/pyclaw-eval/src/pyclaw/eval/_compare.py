"""Answer comparators: exact, normalized, or a user's own function named ``module:function``."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from pyclaw.meta import UsageError

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Comparator:
    """Decides whether a replayed answer matches the recorded one. ``name`` goes in the report."""

    name: str
    check: Callable[[str, str], bool]

    def __call__(self, recorded: str, replayed: str) -> bool:
        return bool(self.check(recorded, replayed))


def _exact(recorded: str, replayed: str) -> bool:
    return recorded == replayed


def normalize_text(text: str) -> str:
    """Case-folded, with runs of whitespace made one space and the ends stripped."""
    return _SPACE.sub(" ", text).strip().casefold()


def _normalized(recorded: str, replayed: str) -> bool:
    return normalize_text(recorded) == normalize_text(replayed)


EXACT = Comparator("exact", _exact)
NORMALIZED = Comparator("normalized", _normalized)


def comparator(spec: str) -> Comparator:
    """``exact``, ``normalized``, or ``package.module:function`` (called as
    ``function(recorded, replayed)`` and truthy when the answer is acceptable).

    Raises ``UsageError`` when the function cannot be imported or is not callable.
    """
    if spec == "exact":
        return EXACT
    if spec == "normalized":
        return NORMALIZED
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(
            f"unknown comparator {spec!r} (expected exact, normalized or module:function)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import the evaluator module {module_name!r}: {exc}") from exc
    fn: object = getattr(module, attribute, None)
    if not callable(fn):
        raise UsageError(f"evaluator {spec!r} is not a function")

    def check(recorded: str, replayed: str) -> bool:
        return bool(fn(recorded, replayed))

    return Comparator(spec, check)
