"""The ``pyclaw`` command end to end: help, init, doctor and error handling."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner

from pyclaw.runtime import _doctor
from pyclaw.runtime.cli import run
from pyclaw.secret import InMemoryKeyring

PYCLAW = Path(sysconfig.get_path("scripts")) / "pyclaw"
SPEC_COMMANDS = {
    "init": [],
    "daemon": [],
    "chat": [],
    "sessions": ["list", "show", "export", "verify"],
    "runs": ["list", "show", "stop"],
    "cron": ["add", "list", "rm", "run"],
    "pairing": ["list", "approve", "revoke"],
    "grants": ["list", "revoke"],
    "approvals": ["list", "approve", "deny"],
    "tools": ["list"],
    "secrets": ["set", "list", "rm"],
    "eval": ["replay"],
    "doctor": [],
    "db": ["migrate"],
}
API_KEY = "sk-test-0123456789abcdef"
BOT_TOKEN = "123456:AAbbCCddEEffGG"


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(*args: str, input: str | None = None) -> Outcome:
    """Run the CLI in-process through ``run`` (its real error handling), output captured."""
    with CliRunner().isolation(input=input) as (out, err, _):
        code = run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


def pyclaw(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``pyclaw`` console script in a real subprocess."""
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run(
        [str(PYCLAW), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def doctor_lines(out: str) -> list[tuple[str, str]]:
    """``(status, check)`` of each ``ok|warn|fail  <check>: <detail>`` line."""
    pairs: list[tuple[str, str]] = []
    for line in out.splitlines():
        status, rest = line.split(None, 1)
        assert line.startswith(f"{status:<4}  "), line
        pairs.append((status, rest.split(":", 1)[0]))
    return pairs


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


def test_help_lists_every_spec_command() -> None:
    result = pyclaw("--help")
    assert result.returncode == 0, result.stderr
    listed = {
        line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()
    }
    assert listed == set(SPEC_COMMANDS)
    for name, subcommands in SPEC_COMMANDS.items():
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        for sub in subcommands:
            assert sub in line, (name, sub, line)
    assert "(not yet available)" not in result.stdout


@pytest.mark.parametrize("group", [g for g, subs in SPEC_COMMANDS.items() if subs])
def test_group_help_lists_subcommands(group: str) -> None:
    result = invoke(group, "--help")
    assert result.code == 0
    for sub in SPEC_COMMANDS[group]:
        assert f"  {sub} " in result.out or f"  {sub}\n" in result.out


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\nfrom pyclaw.runtime.cli import run\n"
        "try:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pydantic', 'rich', 'structlog', 'sqlite3', 'keyring', 'pyclaw.meta')"
        " if m in sys.modules]\nprint('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "HEAVY []" in result.stdout


def test_eval_replay_of_an_unknown_session_is_a_usage_error(home: Path) -> None:
    result = pyclaw("eval", "replay", "ses_1")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"pyclaw: error: no session ses_1 in {home}\n"


def test_usage_errors_are_one_line_exit_2() -> None:
    for args in (["frobnicate"], ["sessions", "list", "--limit", "zero"], ["sessions", "show"]):
        result = invoke(*args)
        assert result.code == 2, args
        assert result.err.count("\n") == 1, result.err
        assert result.err.startswith("pyclaw: error: ")


def test_init_non_interactive_then_doctor_all_ok(
    home: Path, memory_keyring: InMemoryKeyring
) -> None:
    result = invoke(
        "init",
        "--yes",
        "--provider-kind",
        "openai",
        "--model",
        "gpt-4o-mini",
        "--api-key",
        API_KEY,
        "--telegram-token",
        BOT_TOKEN,
        "--allowed-user-id",
        "42",
        "--allowed-user-id",
        "43",
        "--agent-name",
        "helper",
        "--system-prompt",
        "Be brief.",
    )
    assert result.code == 0, result.err
    config_path = home / "pyclaw.toml"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    text = config_path.read_text()
    assert API_KEY not in text
    assert BOT_TOKEN not in text
    data = tomllib.loads(text)
    assert data["providers"]["openai"] == {
        "kind": "openai",
        "model": "gpt-4o-mini",
        "api_key": "secret:openai_api_key",
    }
    assert data["agents"]["helper"]["system_prompt"] == "Be brief."
    assert data["default_agent"] == "helper"
    assert data["telegram"] == {"token": "secret:telegram_token", "allowed_user_ids": [42, 43]}
    service = f"pyclaw:{home}"
    assert memory_keyring.passwords[(service, "openai_api_key")] == API_KEY
    assert memory_keyring.passwords[(service, "telegram_token")] == BOT_TOKEN
    for sub in ("artifacts", "workspace", "logs"):
        assert stat.S_IMODE((home / sub).stat().st_mode) == 0o700
    assert (home / "pyclaw.db").exists()
    assert API_KEY not in result.out + result.err

    doctor = invoke("doctor")
    assert doctor.code == 0, doctor.out
    checks = doctor_lines(doctor.out)
    assert [name for _, name in checks] == [
        "home",
        "config",
        "plaintext secrets",
        "secret references",
        "secret backend",
        "database",
        "artifacts",
        "disk",
        "workspace",
        "provider openai",
        "tools",
    ]
    assert {status for status, _ in checks} == {"ok"}, doctor.out
    assert API_KEY not in doctor.out + doctor.err
    assert BOT_TOKEN not in doctor.out + doctor.err


def test_init_refuses_to_overwrite_without_force(
    home: Path, memory_keyring: InMemoryKeyring
) -> None:
    assert invoke("init", "--yes").code == 0
    before = (home / "pyclaw.toml").read_bytes()
    again = invoke("init", "--yes", "--provider-kind", "anthropic")
    assert again.code == 2
    assert again.err.strip().endswith("already exists; refusing to overwrite it (use --force)")
    assert (home / "pyclaw.toml").read_bytes() == before
    forced = invoke(
        "init",
        "--yes",
        "--force",
        "--provider-kind",
        "anthropic",
        "--api-key-env",
        "ANTHROPIC_API_KEY",
    )
    assert forced.code == 0, forced.err
    assert tomllib.loads((home / "pyclaw.toml").read_text())["providers"]["anthropic"] == {
        "kind": "anthropic",
        "api_key_env": "ANTHROPIC_API_KEY",
    }


def test_init_with_invalid_answers_writes_nothing(
    home: Path, memory_keyring: InMemoryKeyring
) -> None:
    result = invoke("init", "--yes", "--provider-kind", "openai-compatible", "--api-key", API_KEY)
    assert result.code == 2
    assert (
        "providers.openai-compatible.base_url: required for kind 'openai-compatible'" in result.err
    )
    assert not (home / "pyclaw.toml").exists()
    assert memory_keyring.passwords == {}


def test_init_interactive_prompts(
    home: Path, memory_keyring: InMemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pyclaw.runtime._cli_common.stdin_is_terminal", lambda: True)
    answers = "\n".join(
        [
            "openai-compatible",  # kind
            "lan",  # provider name
            "http://127.0.0.1:8080/v1",  # base url
            "smollm2",  # model
            API_KEY,  # api key (hidden)
            BOT_TOKEN,  # telegram token (hidden)
            "7, 8",  # allowed users
            "",  # agent name: default
        ]
    )
    result = invoke("init", input=answers + "\n")
    assert result.code == 0, result.err
    assert API_KEY not in result.out
    assert BOT_TOKEN not in result.out
    data = tomllib.loads((home / "pyclaw.toml").read_text())
    assert data["providers"]["lan"] == {
        "kind": "openai-compatible",
        "base_url": "http://127.0.0.1:8080/v1",
        "model": "smollm2",
        "api_key": "secret:lan_api_key",
    }
    assert data["telegram"]["allowed_user_ids"] == [7, 8]
    assert data["default_agent"] == "default"


def test_init_and_doctor_through_the_console_script(home: Path) -> None:
    init = pyclaw(
        "init", "--yes", "--api-key-env", "PYCLAW_TEST_UNSET_KEY", "--provider-kind", "openai"
    )
    assert init.returncode == 0, init.stderr
    doctor = pyclaw("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    statuses = {name: status for status, name in doctor_lines(doctor.stdout)}
    # No OS keyring on this path (fail backend): the 0600 file is used and doctor says so.
    assert statuses["secret backend"] == "warn"
    assert statuses["secret references"] == "warn"  # $PYCLAW_TEST_UNSET_KEY is not set
    assert statuses["provider openai"] == "warn"
    unset = {"secret backend", "secret references", "provider openai"}
    assert {s for k, s in statuses.items() if k not in unset} == {"ok"}


def test_doctor_on_a_missing_home_fails(home: Path) -> None:
    result = invoke("doctor")
    assert result.code == 1
    assert result.out.splitlines()[0] == f"fail  home: {home} does not exist (run 'pyclaw init')"
    assert not home.exists()  # doctor never creates anything


def test_doctor_json(home: Path, memory_keyring: InMemoryKeyring) -> None:
    assert invoke("init", "--yes").code == 0
    result = invoke("doctor", "--json")
    checks = json.loads(result.out)
    assert {c["status"] for c in checks} == {"ok"}
    assert checks[0] == {"status": "ok", "check": "home", "detail": str(home)}


def test_db_migrate(home: Path) -> None:
    first = invoke("db", "migrate")
    assert first.code == 0, first.err
    assert "applied session 1: create sessions, events and runs" in first.out
    assert first.out.splitlines()[-1].startswith(
        "migrated: artifact 1, cron 2, daemon 1, memory 1, policy 1, session "
    )
    second = invoke("db", "migrate")
    assert second.out.startswith(
        "up to date: artifact 1, cron 2, daemon 1, memory 1, policy 1, session "
    )
    assert second.out.count("\n") == 1


def test_unexpected_errors_are_one_line_exit_70(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(_doctor, "run_checks", boom)
    result = invoke("doctor")
    assert result.code == 70
    assert result.err == (
        "pyclaw: internal error: RuntimeError: disk on fire (set PYCLAW_DEBUG=1 for a traceback)\n"
    )
    monkeypatch.setenv("PYCLAW_DEBUG", "1")
    debug = invoke("doctor")
    assert debug.code == 70
    assert "Traceback" in debug.err


def test_malformed_config_is_one_clear_line_and_left_unchanged(
    home: Path, memory_keyring: InMemoryKeyring
) -> None:
    assert invoke("init", "--yes").code == 0
    config = home / "pyclaw.toml"
    config.write_text('default_agent = "default"\n[providers.local\nkind = "local"\n')
    before = config.read_bytes()
    doctor = pyclaw("doctor")
    assert doctor.returncode == 1
    line = next(line for line in doctor.stdout.splitlines() if line.startswith("fail  config:"))
    assert line.startswith(f"fail  config: {config}:2:")
    assert "invalid TOML" in line
    init = invoke("init", "--yes")
    assert init.code == 2
    assert init.err.count("\n") == 1
    assert config.read_bytes() == before


def test_unknown_key_suggests_the_valid_one(home: Path, memory_keyring: InMemoryKeyring) -> None:
    home.mkdir()
    config = home / "pyclaw.toml"
    config.write_text('[telegram]\ntoken = "secret:telegram_token"\nallowed_users = [42]\n')
    before = config.read_bytes()
    doctor = invoke("doctor")
    assert doctor.code == 1
    assert (
        f"fail  config: {config}:3: telegram.allowed_users: unknown key 'allowed_users' "
        "(did you mean 'allowed_user_ids'?)"
    ) in doctor.out.splitlines()
    assert config.read_bytes() == before


def test_bad_kind_names_key_and_choices(home: Path, memory_keyring: InMemoryKeyring) -> None:
    home.mkdir()
    config = home / "pyclaw.toml"
    config.write_text('[providers.openai]\nkind = "open-ai"\n')
    doctor = invoke("doctor")
    assert (
        f"fail  config: {config}:2: providers.openai.kind: invalid value 'open-ai' "
        "(expected one of openai, anthropic, openai-compatible, local, cortensor)"
    ) in doctor.out.splitlines()
