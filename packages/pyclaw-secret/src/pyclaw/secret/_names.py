"""Secret names: what is allowed, and how a name maps to its environment variable."""

from __future__ import annotations

import re

from pyclaw.meta import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")

SECRET_PREFIX = "secret:"  # noqa: S105 - a reference prefix, not a password
"""A config value of the form ``secret:<name>`` refers to a stored secret."""


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid secret name, else raise ``UsageError``."""
    if not _NAME.match(name):
        raise UsageError(
            f"invalid secret name {name!r}",
            hint="use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    return name


def env_var_name(name: str, prefix: str) -> str:
    """The environment variable holding secret ``name``: ``openai.key`` → ``PYCLAW_SECRET_OPENAI_KEY``."""
    return prefix + _NON_ALNUM.sub("_", name.upper())


def secret_reference(value: str) -> str | None:
    """The secret name in a ``secret:<name>`` value, or ``None`` for any other value."""
    if value.startswith(SECRET_PREFIX):
        return value[len(SECRET_PREFIX) :].strip()
    return None
