"""``DefaultSecretStore``: environment → OS keyring → a 0600 JSON file under the PyClaw home."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from pyclaw.meta import SecretError, SecretInfo, SecretNotFoundError, UsageError
from pyclaw.secret._files import JsonMapFile, group_or_world_accessible
from pyclaw.secret._keyring import KeyringChoice, call_with_timeout, choose_keyring
from pyclaw.secret._names import check_name, env_var_name, secret_reference

log = logging.getLogger("pyclaw.secret")

SECRETS_FILE = "secrets.json"
INDEX_FILE = "secrets.index.json"


@dataclass(frozen=True)
class SecretBackendStatus:
    """Where new secrets go, described for humans, with a warning when that place is weak."""

    backend: Literal["keyring", "file"]
    description: str
    warning: str | None = None


class DefaultSecretStore:
    """Named secrets looked up in the environment, then the OS keyring, then ``home/secrets.json``.

    * ``get``: ``PYCLAW_SECRET_<NAME>`` (upper-cased, non-alphanumerics → ``_``), then the keyring
      (only a backend that works unattended, see ``choose_keyring``; any backend failure is logged
      and the lookup falls through), then the 0600 secrets file.
    * ``set``: the keyring when usable, else the file; returns ``"keyring"`` or ``"file"``.
    * ``list``: names and where they live, never values. The keyring cannot enumerate, so names
      stored there are kept in ``home/secrets.index.json``.
    """

    def __init__(
        self,
        home: Path,
        *,
        service: str = "pyclaw",
        env_prefix: str = "PYCLAW_SECRET_",
        keyring_backend: KeyringBackend | None = None,
        use_keyring: bool = True,
        keyring_timeout: float = 10.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.home = Path(home)
        self.service = service
        self.env_prefix = env_prefix
        self.keyring_timeout = keyring_timeout
        self._environ = environ
        self._use_keyring = use_keyring
        self._keyring_backend = keyring_backend
        self._choice: KeyringChoice | None = None
        self._file = JsonMapFile(self.home / SECRETS_FILE, "secrets")
        self._index = JsonMapFile(self.home / INDEX_FILE, "names")

    # -- where things are ---------------------------------------------------------------------

    @property
    def file_path(self) -> Path:
        return self._file.path

    @property
    def index_path(self) -> Path:
        return self._index.path

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _keyring(self) -> KeyringChoice:
        if self._choice is None:
            if not self._use_keyring:
                self._choice = KeyringChoice(None, "keyring disabled")
            else:
                self._choice = choose_keyring(self._keyring_backend)
                if not self._choice.usable:
                    log.info("secrets: not using the OS keyring: %s", self._choice.detail)
        return self._choice

    def backend_status(self) -> SecretBackendStatus:
        """Which backend ``set`` writes to, and a warning when it stores values unencrypted."""
        choice = self._keyring()
        file_warning = None
        if group_or_world_accessible(self.file_path):
            file_warning = f"{self.file_path} is readable by other users (chmod 600 it)"
        if choice.usable:
            warning = "the keyring stores secrets unencrypted" if choice.plaintext else None
            return SecretBackendStatus(
                "keyring", f"keyring: {choice.detail}", warning or file_warning
            )
        return SecretBackendStatus(
            "file",
            f"file: {self.file_path} (mode 0600, not encrypted); keyring unavailable: {choice.detail}",
            file_warning or "secrets are stored unencrypted in a 0600 file",
        )

    def backend_description(self) -> str:
        return self.backend_status().description

    # -- the SecretStore protocol ---------------------------------------------------------------

    def get(self, name: str) -> str | None:
        check_name(name)
        value = self._env().get(env_var_name(name, self.env_prefix))
        if value:
            return value
        backend = self._keyring().backend
        if backend is not None:
            try:
                found = call_with_timeout(
                    lambda: backend.get_password(self.service, name), self.keyring_timeout, "read"
                )
            except Exception as exc:  # noqa: BLE001 - any backend failure falls through to the file
                log.warning(
                    "secrets: keyring read of %r failed (%s: %s); trying the file",
                    name,
                    type(exc).__name__,
                    exc,
                )
            else:
                if found is not None:
                    return found
        return self._file.load().get(name)

    def set(self, name: str, value: str) -> str:
        check_name(name)
        if not value:
            raise UsageError(f"refusing to store an empty value for secret {name!r}")
        backend = self._keyring().backend
        if backend is not None:
            try:
                setter = cast("Callable[[str, str, str], None]", backend.set_password)
                call_with_timeout(
                    lambda: setter(self.service, name, value),
                    self.keyring_timeout,
                    "write",
                )
            except Exception as exc:  # noqa: BLE001 - any backend failure falls back to the file
                log.warning(
                    "secrets: keyring write of %r failed (%s: %s); using the file",
                    name,
                    type(exc).__name__,
                    exc,
                )
            else:
                self._index.put(name, "keyring")
                self._file.remove(name)
                return "keyring"
        self._file.put(name, value)
        self._index.remove(name)
        return "file"

    def delete(self, name: str) -> None:
        check_name(name)
        removed = self._delete_from_keyring(name)
        removed = self._index.remove(name) or removed
        removed = self._file.remove(name) or removed
        if removed:
            return
        variable = env_var_name(name, self.env_prefix)
        if self._env().get(variable):
            raise SecretError(
                f"secret {name!r} comes from the environment variable {variable}; unset it there"
            )
        raise SecretNotFoundError(f"secret {name!r} is not set")

    def _delete_from_keyring(self, name: str) -> bool:
        backend = self._keyring().backend
        if backend is None:
            return False
        try:
            existing = call_with_timeout(
                lambda: backend.get_password(self.service, name), self.keyring_timeout, "read"
            )
            if existing is None:
                return False
            call_with_timeout(
                lambda: backend.delete_password(self.service, name), self.keyring_timeout, "delete"
            )
        except PasswordDeleteError:
            return False
        except Exception as exc:  # noqa: BLE001 - report and carry on with the other places
            log.warning(
                "secrets: keyring delete of %r failed (%s: %s)", name, type(exc).__name__, exc
            )
            return False
        return True

    def list(self) -> list[SecretInfo]:
        found: dict[str, str] = {}
        for variable, value in self._env().items():
            if (
                variable.startswith(self.env_prefix)
                and value
                and len(variable) > len(self.env_prefix)
            ):
                found.setdefault(variable[len(self.env_prefix) :].lower(), "env")
        for name in self._index.load():
            found.setdefault(name, "keyring")
        for name in self._file.load():
            found.setdefault(name, "file")
        return [SecretInfo(name=name, backend=found[name]) for name in sorted(found)]

    # -- config values ----------------------------------------------------------------------------

    def resolve(self, value: str) -> str:
        """``"secret:<name>"`` → the secret's value; any other string is returned unchanged."""
        name = secret_reference(value)
        if name is None:
            return value
        secret = self.get(name)
        if secret is None:
            raise not_found(name, self.env_prefix)
        return secret


def not_found(name: str, env_prefix: str = "PYCLAW_SECRET_") -> SecretNotFoundError:
    """The one-line error for a missing secret, saying how to set it."""
    return SecretNotFoundError(
        f"secret {name!r} is not set",
        hint=f"set it with 'pyclaw secrets set {name}' or export {env_var_name(name, env_prefix)}",
    )
