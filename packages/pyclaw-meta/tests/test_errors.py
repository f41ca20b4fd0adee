"""The error hierarchy: exit codes, one-line messages, ConfigError's file/key/expected form."""

from __future__ import annotations

import pytest

import pyclaw.meta as meta
from pyclaw.meta import (
    ArtifactCorruptError,
    ArtifactNotFoundError,
    ChainBrokenError,
    ConfigError,
    ErrorInfo,
    IntegrityError,
    MigrationError,
    NotFoundError,
    ProviderError,
    PyClawError,
    SchemaTooNewError,
    SecretNotFoundError,
    SessionNotFoundError,
    StorageError,
    UsageError,
)

EXPECTED_EXIT_CODES: dict[type[PyClawError], int] = {
    PyClawError: 1,
    UsageError: 2,
    ConfigError: 2,
    StorageError: 1,
    SchemaTooNewError: 3,
    MigrationError: 1,
    NotFoundError: 1,
    IntegrityError: 4,
    ArtifactCorruptError: 4,
    ChainBrokenError: 4,
}


def exported_errors() -> list[type[PyClawError]]:
    found = {getattr(meta, n) for n in meta.__all__}
    return sorted(
        (c for c in found if isinstance(c, type) and issubclass(c, PyClawError)),
        key=lambda c: c.__name__,
    )


@pytest.mark.parametrize(
    ("cls", "code"), EXPECTED_EXIT_CODES.items(), ids=[c.__name__ for c in EXPECTED_EXIT_CODES]
)
def test_exit_codes(cls: type[PyClawError], code: int) -> None:
    assert cls.exit_code == code


@pytest.mark.parametrize("cls", exported_errors(), ids=lambda c: c.__name__)
def test_every_error_is_one_line_with_an_exit_code(cls: type[PyClawError]) -> None:
    err = cls("something failed")
    assert str(err) == "something failed"
    assert "\n" not in str(err)
    assert err.exit_code >= 1
    info = err.to_info(path="/tmp/x")
    assert info == ErrorInfo(
        type=cls.__name__,
        message="something failed",
        retryable=err.retryable,
        details={"path": "/tmp/x"},
    )


def test_hint_is_shown_after_the_message() -> None:
    err = UsageError("unknown agent 'bob'", hint="see `pyclaw agents list`")
    assert str(err) == "unknown agent 'bob' (see `pyclaw agents list`)"
    assert err.message == "unknown agent 'bob'"


def test_config_error_names_file_key_and_expectation() -> None:
    err = ConfigError(
        "got 42", file="/home/u/.pyclaw/pyclaw.toml", key="telegram.token", expected="a string"
    )
    assert str(err) == "/home/u/.pyclaw/pyclaw.toml: telegram.token: got 42 (expected a string)"
    assert (err.file, err.key, err.expected) == (
        "/home/u/.pyclaw/pyclaw.toml",
        "telegram.token",
        "a string",
    )
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({}, "bad value"),
        ({"file": "pyclaw.toml"}, "pyclaw.toml: bad value"),
        ({"key": "agents.main.provider"}, "agents.main.provider: bad value"),
        ({"expected": "one of: openai, local"}, "bad value (expected one of: openai, local)"),
        (
            {"file": "pyclaw.toml", "key": "cron[0].schedule", "hint": "crontab syntax"},
            "pyclaw.toml: cron[0].schedule: bad value (crontab syntax)",
        ),
    ],
)
def test_config_error_partial_forms(kwargs: dict[str, str], text: str) -> None:
    assert str(ConfigError("bad value", **kwargs)) == text


def test_provider_error_retryable_is_per_instance() -> None:
    assert ProviderError("429", retryable=True).retryable is True
    assert ProviderError("401").retryable is False
    assert ProviderError("429", retryable=True).to_info().retryable is True


def test_hierarchy() -> None:
    assert issubclass(SecretNotFoundError, NotFoundError)
    assert issubclass(SessionNotFoundError, NotFoundError)
    assert issubclass(ArtifactNotFoundError, NotFoundError)
    assert issubclass(ChainBrokenError, IntegrityError)
    assert issubclass(SchemaTooNewError, StorageError)
    assert all(issubclass(c, Exception) for c in exported_errors())
