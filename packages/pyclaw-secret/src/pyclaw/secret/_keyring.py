"""Choosing an OS keyring backend that is safe to use unattended, and calling it with a timeout.

A backend is used only when its priority is above zero (``keyring``'s own "this one works here")
and it never prompts: the encrypted file keyrings ask for a password on stdin and raise
``EOFError`` without a TTY, so they are refused. keyring's chainer is unpacked to the first member
that qualifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import keyring
from keyring.backend import KeyringBackend

from pyclaw.meta import SecretError

T = TypeVar("T")

_PROMPTING_MARKERS = ("Encrypted", "CryptFile")


@dataclass(frozen=True)
class KeyringChoice:
    """The keyring backend to use, or why none is usable."""

    backend: KeyringBackend | None
    detail: str
    plaintext: bool = False

    @property
    def usable(self) -> bool:
        return self.backend is not None


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(type(backend).priority)
    except Exception:  # noqa: BLE001 - a backend's priority probe may raise anything; treat as unusable
        return -1.0


def _prompts(backend: KeyringBackend) -> bool:
    return any(
        marker in klass.__name__ for klass in type(backend).__mro__ for marker in _PROMPTING_MARKERS
    )


def _is_plaintext(backend: KeyringBackend) -> bool:
    cls = type(backend)
    return cls.__module__.startswith("keyrings.alt") and "Plaintext" in cls.__name__


def _describe(backend: KeyringBackend) -> KeyringChoice:
    name = backend_name(backend)
    if _is_plaintext(backend):
        location = str(getattr(backend, "file_path", "a file"))
        return KeyringChoice(
            backend, f"{name} (plaintext file {location}, not encrypted)", plaintext=True
        )
    return KeyringChoice(backend, name)


def _unusable_reason(backend: KeyringBackend) -> str | None:
    name = backend_name(backend)
    if _prompts(backend):
        return f"{name} prompts for a password; refused so nothing blocks on a missing TTY"
    priority = _priority(backend)
    if priority <= 0:
        return f"{name} has priority {priority:g} (no working OS keyring here)"
    return None


def choose_keyring(backend: KeyringBackend | None = None) -> KeyringChoice:
    """Vet ``backend`` (default: keyring's active backend) and return the one to use, if any."""
    if backend is None:
        try:
            backend = keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 - keyring's discovery may fail in many ways
            return KeyringChoice(None, f"keyring discovery failed: {type(exc).__name__}: {exc}")
    members = cast("list[KeyringBackend] | None", getattr(type(backend), "backends", None))
    if type(backend).__name__ == "ChainerBackend" and members is not None:
        reasons: list[str] = []
        for member in members:
            reason = _unusable_reason(member)
            if reason is None:
                return _describe(member)
            reasons.append(reason)
        return KeyringChoice(None, "; ".join(reasons) or "keyring chainer has no backends")
    reason = _unusable_reason(backend)
    if reason is not None:
        return KeyringChoice(None, reason)
    return _describe(backend)


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run a blocking keyring call in a daemon thread; ``SecretError`` if it outlives ``timeout``."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
            error.append(exc)

    worker = threading.Thread(target=run, name="pyclaw-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise SecretError(f"keyring {what} did not answer within {timeout:g} s")
    if error:
        raise error[0]
    return result[0]
