"""``pyclaw secrets`` and secret handling across the CLI: values are stored, never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner

from pyclaw.runtime.cli import run
from pyclaw.secret import InMemoryKeyring

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"
VALUE = "sk-live-9f8e7d6c5b4a39281706"


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def invoke(*args: str, input: str | None = None) -> Outcome:
    with CliRunner().isolation(input=input) as (out, err, _):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("PYCLAW_HOME", str(path))
    return path


@pytest.fixture
def memory_keyring() -> Iterator[InMemoryKeyring]:
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_set_list_rm_never_print_the_value(home: Path, memory_keyring: InMemoryKeyring) -> None:
    stored = invoke("secrets", "set", "openai_api_key", "--value-stdin", input=VALUE + "\n")
    assert stored.code == 0, stored.err
    assert "stored secret 'openai_api_key' in the keyring" in stored.out
    assert memory_keyring.passwords[(f"pyclaw:{home}", "openai_api_key")] == VALUE

    listed = invoke("secrets", "list")
    assert listed.out == "openai_api_key\tkeyring\n"
    assert "InMemoryKeyring" in listed.err
    as_json = invoke("secrets", "list", "--json")
    assert json.loads(as_json.out) == [{"name": "openai_api_key", "backend": "keyring"}]
    for outcome in (stored, listed, as_json):
        assert VALUE not in outcome.text

    removed = invoke("secrets", "rm", "openai_api_key")
    assert removed.code == 0
    assert memory_keyring.passwords == {}
    again = invoke("secrets", "rm", "openai_api_key")
    assert again.code == 1
    assert again.err == "pyclaw: error: secret 'openai_api_key' is not set\n"


def test_set_prompts_hidden_on_a_terminal(
    home: Path, memory_keyring: InMemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pyclaw.runtime._cli_common.stdin_is_terminal", lambda: True)
    result = invoke("secrets", "set", "telegram_token", input=f"{VALUE}\n{VALUE}\n")
    assert result.code == 0, result.err
    assert VALUE not in result.text
    assert memory_keyring.passwords[(f"pyclaw:{home}", "telegram_token")] == VALUE


def test_set_without_a_terminal_needs_value_stdin(home: Path) -> None:
    result = invoke("secrets", "set", "x", input=VALUE)
    assert result.code == 2
    assert result.err == (
        "pyclaw: error: stdin is not a terminal (pass --value-stdin to read the value from stdin)\n"
    )


def test_bad_secret_name(home: Path) -> None:
    result = invoke("secrets", "set", "../../etc/passwd", "--value-stdin", input=VALUE)
    assert result.code == 2
    assert "invalid secret name" in result.err


def subprocess_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        **extra,
    }


def pyclaw(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYCLAW), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_headless_plaintext_keyring_is_used_and_flagged(home: Path, tmp_path: Path) -> None:
    env = subprocess_env(tmp_path, PYCLAW_SECRET_FROM_ENV="env-value-123456")
    init = pyclaw(env, "init", "--yes", "--provider-kind", "openai", "--api-key", VALUE)
    assert init.returncode == 0, init.stderr
    assert "stored secret 'openai_api_key' in the keyring" in init.stdout
    keyring_file = tmp_path / "xdg-data" / "python_keyring" / "keyring_pass.cfg"
    assert keyring_file.exists()  # the keyring file under the test's XDG dir, not the user's
    assert VALUE not in (home / "pyclaw.toml").read_text()

    listed = pyclaw(env, "secrets", "list", "--json")
    assert json.loads(listed.stdout) == [
        {"name": "from_env", "backend": "env"},
        {"name": "openai_api_key", "backend": "keyring"},
    ]
    doctor = pyclaw(env, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    backend_line = next(line for line in doctor.stdout.splitlines() if "secret backend:" in line)
    assert backend_line.startswith(
        "warn  secret backend: keyring: keyrings.alt.file.PlaintextKeyring"
    )
    assert "not encrypted" in backend_line
    references = next(line for line in doctor.stdout.splitlines() if "secret references:" in line)
    assert references == (
        "ok    secret references: 1 resolve (providers.openai.api_key → openai_api_key)"
    )
    for result in (init, listed, doctor):
        assert VALUE not in result.stdout + result.stderr
        assert "env-value-123456" not in result.stdout + result.stderr


def test_doctor_flags_plaintext_and_missing_secrets(
    home: Path, memory_keyring: InMemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir()
    (home / "pyclaw.toml").write_text(
        f'[providers.a]\nkind = "openai"\napi_key = "{VALUE}"\n'
        '[providers.b]\nkind = "anthropic"\napi_key = "secret:anthropic_key"\n'
        '[agents.default]\nprovider = "a"\n'
    )
    (home / "pyclaw.toml").chmod(0o644)
    result = invoke("doctor")
    assert result.code == 1
    assert VALUE not in result.text
    lines = {line.split(":")[0]: line for line in result.out.splitlines()}
    assert lines["warn  plaintext secrets"] == (
        "warn  plaintext secrets: providers.a.api_key written in pyclaw.toml (and the file is "
        "readable by other users); store them with 'pyclaw secrets set NAME' and write "
        "'secret:NAME' instead"
    )
    assert lines["fail  secret references"] == (
        "fail  secret references: not set: 'anthropic_key' (providers.b.api_key; "
        "run 'pyclaw secrets set anthropic_key')"
    )
    monkeypatch.setenv("PYCLAW_SECRET_ANTHROPIC_KEY", "from-the-environment")
    fixed = invoke("doctor")
    assert "ok    secret references: 1 resolve" in fixed.out
    assert "from-the-environment" not in fixed.text
