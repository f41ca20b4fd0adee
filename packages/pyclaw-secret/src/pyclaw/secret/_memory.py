"""In-memory stand-ins: a ``SecretStore`` for library users and tests, and a keyring backend."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from pyclaw.meta import SecretInfo, SecretNotFoundError, UsageError
from pyclaw.secret._names import check_name, secret_reference
from pyclaw.secret._store import not_found


class MemorySecretStore:
    """A ``SecretStore`` holding secrets in a dict; nothing touches disk or the OS keyring."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self._secrets: dict[str, str] = dict(secrets or {})

    def get(self, name: str) -> str | None:
        return self._secrets.get(check_name(name))

    def set(self, name: str, value: str) -> str:
        if not value:
            raise UsageError(f"refusing to store an empty value for secret {name!r}")
        self._secrets[check_name(name)] = value
        return "memory"

    def delete(self, name: str) -> None:
        if self._secrets.pop(check_name(name), None) is None:
            raise SecretNotFoundError(f"secret {name!r} is not set")

    def list(self) -> list[SecretInfo]:
        return [SecretInfo(name=name, backend="memory") for name in sorted(self._secrets)]

    def resolve(self, value: str) -> str:
        name = secret_reference(value)
        if name is None:
            return value
        secret = self.get(name)
        if secret is None:
            raise not_found(name)
        return secret


class InMemoryKeyring(KeyringBackend):
    """A keyring backend keeping passwords in a dict, for tests that must not touch the real one.

    Install it with ``keyring.set_keyring(InMemoryKeyring())`` or pass it to
    ``DefaultSecretStore(keyring_backend=...)``. It is never picked by keyring's auto-detection.
    """

    priority = 1  # pyright: ignore[reportAssignmentType] - keyring declares a classproperty; a constant is what it reads

    @properties.classproperty
    def viable(cls) -> bool:  # noqa: N805 - a classproperty receives the class
        """Never auto-selected by ``keyring.get_keyring()``: tests install it explicitly."""
        return False

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}")
