from __future__ import annotations

import json
import logging
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keyring.backends import fail
from keyring.errors import KeyringError
from keyrings.alt.file import EncryptedKeyring, PlaintextKeyring

from pyclaw.meta import SecretError, SecretNotFoundError, SecretStore, UsageError
from pyclaw.secret import (
    DefaultSecretStore,
    InMemoryKeyring,
    MemorySecretStore,
    choose_keyring,
    env_var_name,
)

VALUE = "sk-test-value-123456"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class BrokenKeyring(InMemoryKeyring):
    """Claims to work, then fails on every call (like a locked or vanished keyring)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


class HangingKeyring(InMemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(5)
        return "too late"


def test_implements_the_protocol(tmp_path: Path) -> None:
    assert isinstance(DefaultSecretStore(tmp_path), SecretStore)
    assert isinstance(MemorySecretStore(), SecretStore)


def test_env_var_name_mapping() -> None:
    assert env_var_name("openai_api_key", "PYCLAW_SECRET_") == "PYCLAW_SECRET_OPENAI_API_KEY"
    assert env_var_name("my-bot.token", "PYCLAW_SECRET_") == "PYCLAW_SECRET_MY_BOT_TOKEN"


def test_set_goes_to_usable_keyring(tmp_path: Path, memory_keyring: InMemoryKeyring) -> None:
    store = DefaultSecretStore(tmp_path)
    assert store.set("openai_api_key", VALUE) == "keyring"
    assert memory_keyring.passwords[("pyclaw", "openai_api_key")] == VALUE
    assert store.get("openai_api_key") == VALUE
    assert not store.file_path.exists()
    index = store.index_path.read_text()
    assert "openai_api_key" in index
    assert VALUE not in index
    assert mode(store.index_path) == 0o600
    assert [(i.name, i.backend) for i in store.list()] == [("openai_api_key", "keyring")]
    assert store.backend_status().backend == "keyring"
    assert "InMemoryKeyring" in store.backend_description()


def test_env_wins_over_keyring_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: InMemoryKeyring
) -> None:
    store = DefaultSecretStore(tmp_path)
    store.set("tok", "from-keyring")
    monkeypatch.setenv("PYCLAW_SECRET_TOK", "from-env")
    assert store.get("tok") == "from-env"
    monkeypatch.setenv("PYCLAW_SECRET_ONLY_ENV", "x")
    listed = {i.name: i.backend for i in store.list()}
    assert listed == {"tok": "env", "only_env": "env"}


def test_priority_zero_backend_falls_back_to_0600_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = DefaultSecretStore(home, keyring_backend=fail.Keyring())
    assert store.set("telegram_token", VALUE) == "file"
    assert mode(home) == 0o700
    assert mode(store.file_path) == 0o600
    assert json.loads(store.file_path.read_text())["secrets"] == {"telegram_token": VALUE}
    assert store.get("telegram_token") == VALUE
    status = store.backend_status()
    assert status.backend == "file"
    assert "priority 0" in status.description
    assert status.warning is not None
    assert [(i.name, i.backend) for i in store.list()] == [("telegram_token", "file")]


def test_encrypted_keyring_is_never_used(tmp_path: Path) -> None:
    encrypted = object.__new__(EncryptedKeyring)  # its __init__ needs pycryptodome
    choice = choose_keyring(encrypted)
    assert not choice.usable
    assert "prompts" in choice.detail
    store = DefaultSecretStore(tmp_path, keyring_backend=encrypted)
    assert store.set("a", VALUE) == "file"
    assert store.get("a") == VALUE


def test_plaintext_keyring_is_used_but_flagged(tmp_path: Path) -> None:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring_pass.cfg")  # pyright: ignore[reportAttributeAccessIssue]
    store = DefaultSecretStore(tmp_path / "home", keyring_backend=backend)
    assert store.set("k", VALUE) == "keyring"
    assert store.get("k") == VALUE
    status = store.backend_status()
    assert "plaintext" in status.description
    assert status.warning == "the keyring stores secrets unencrypted"


def test_chainer_is_unpacked_to_first_usable_member() -> None:
    good = InMemoryKeyring()

    class ChainerBackend(InMemoryKeyring):
        backends = (object.__new__(EncryptedKeyring), good)

    choice = choose_keyring(ChainerBackend())
    assert choice.backend is good


@pytest.mark.parametrize(
    "error", [KeyringError("locked"), EOFError("no tty"), RuntimeError("dbus gone")]
)
def test_backend_errors_fall_through_to_file(
    tmp_path: Path, error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    store = DefaultSecretStore(tmp_path, keyring_backend=BrokenKeyring(error))
    with caplog.at_level(logging.WARNING, logger="pyclaw.secret"):
        assert store.set("k", VALUE) == "file"
        assert store.get("k") == VALUE
        store.delete("k")
    assert store.get("k") is None
    assert type(error).__name__ in caplog.text
    assert VALUE not in caplog.text


def test_hanging_keyring_times_out(tmp_path: Path) -> None:
    backend = HangingKeyring()
    store = DefaultSecretStore(tmp_path, keyring_backend=backend, keyring_timeout=0.2)
    try:
        assert store.get("k") is None
    finally:
        backend.release.set()


def test_delete_removes_everywhere(tmp_path: Path, memory_keyring: InMemoryKeyring) -> None:
    store = DefaultSecretStore(tmp_path)
    store.set("k", VALUE)
    DefaultSecretStore(tmp_path, use_keyring=False).set("k", "file copy")
    store.delete("k")
    assert memory_keyring.passwords == {}
    assert store.get("k") is None
    assert store.list() == []
    with pytest.raises(SecretNotFoundError, match="'k' is not set"):
        store.delete("k")


def test_delete_of_env_secret_says_where_it_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCLAW_SECRET_K", VALUE)
    with pytest.raises(SecretError, match="PYCLAW_SECRET_K"):
        DefaultSecretStore(tmp_path).delete("k")


def test_resolve(tmp_path: Path) -> None:
    store = DefaultSecretStore(tmp_path)
    store.set("openai_api_key", VALUE)
    assert store.resolve("secret:openai_api_key") == VALUE
    assert store.resolve("plain value") == "plain value"
    with pytest.raises(SecretNotFoundError) as info:
        store.resolve("secret:missing_key")
    text = str(info.value)
    assert "missing_key" in text
    assert "pyclaw secrets set missing_key" in text
    assert "\n" not in text


def test_bad_names_and_empty_values_are_refused(tmp_path: Path) -> None:
    store = DefaultSecretStore(tmp_path)
    with pytest.raises(UsageError):
        store.set("../etc", VALUE)
    with pytest.raises(UsageError):
        store.set("ok", "")


def test_corrupt_secrets_file_is_a_clear_error(tmp_path: Path) -> None:
    store = DefaultSecretStore(tmp_path, use_keyring=False)
    store.file_path.write_text("{not json")
    with pytest.raises(SecretError, match=r"secrets.json is not valid JSON \(line 1"):
        store.get("k")


def test_world_readable_file_is_warned(tmp_path: Path) -> None:
    store = DefaultSecretStore(tmp_path, use_keyring=False)
    store.set("k", VALUE)
    store.file_path.chmod(0o644)
    warning = store.backend_status().warning
    assert warning is not None
    assert "readable by other users" in warning


@settings(max_examples=40, deadline=None)
@given(
    name=st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,20}", fullmatch=True),
    value=st.text(min_size=1, max_size=50).filter(lambda v: "\x00" not in v),
)
def test_file_round_trip(tmp_path_factory: pytest.TempPathFactory, name: str, value: str) -> None:
    store = DefaultSecretStore(tmp_path_factory.mktemp("h"), use_keyring=False)
    store.set(name, value)
    assert store.get(name) == value
    assert [i.name for i in store.list()] == [name]


def test_memory_store() -> None:
    store = MemorySecretStore({"a": "1"})
    assert store.resolve("secret:a") == "1"
    assert store.set("b", "2") == "memory"
    assert [i.name for i in store.list()] == ["a", "b"]
    store.delete("a")
    with pytest.raises(SecretNotFoundError):
        store.resolve("secret:a")
