from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from pyclaw.meta import ConfigError
from pyclaw.runtime import (
    BUILTIN_TOOLS,
    default_config,
    load_config,
    parse_config,
    write_config,
)
from pyclaw.secret import MemorySecretStore

PATH = Path("/home/u/.pyclaw/pyclaw.toml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, PATH)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path / "missing.toml")
    assert config == default_config()
    assert config.providers["local"].kind == "local"
    assert config.agents["default"].provider == "local"
    assert config.default_agent == "default"
    assert config.agent_profile().provider == "local"


def test_missing_file_when_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file.*pyclaw init"):
        load_config(tmp_path / "pyclaw.toml", missing_ok=False)


def test_full_config_loads() -> None:
    config = parse_config(
        """
default_agent = "helper"

[telegram]
token = "secret:telegram_token"
allowed_user_ids = [42, 43]

[providers.openai]
kind = "openai"
api_key = "secret:openai_api_key"
model = "gpt-4o-mini"

[providers.router]
kind = "cortensor"
base_url = "http://127.0.0.1:5010"
session_id = 7
api_version = "v1"

[agents.helper]
provider = "openai"
tools = ["read_file", "plugin:calendar", "acme.search"]

[agents.cheap]
provider = "router"
model = "small"

[[cron]]
name = "morning"
schedule = "30 7 * * mon-fri"
timezone = "Europe/Paris"
agent = "helper"
prompt = "Summarize my inbox"

[[cron]]
name = "ping"
every = "1h30m"
prompt = "ping"
deliver = "silent"
""",
        PATH,
    )
    assert config.telegram is not None
    assert config.telegram.api_base_url == "https://api.telegram.org"
    assert config.telegram.poll_timeout == 30
    assert config.providers["router"].session_id == "7"
    assert config.agent_profile("helper").model == "gpt-4o-mini"
    assert config.agent_profile("cheap").model == "small"
    jobs = config.cron_jobs()
    assert jobs[0].schedule == "30 7 * * mon-fri"
    assert jobs[1].every_seconds == 5400
    assert jobs[1].agent == "helper"  # the default agent
    assert config.plaintext_secrets() == []
    assert config.secret_references() == [
        ("telegram.token", "telegram_token"),
        ("providers.openai.api_key", "openai_api_key"),
    ]


def test_plaintext_secrets_are_allowed_but_flagged() -> None:
    config = parse_config('[providers.o]\nkind = "openai"\napi_key = "sk-plain"\n', PATH)
    assert config.plaintext_secrets() == ["providers.o.api_key"]


def test_api_key_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(
        '[providers.a]\nkind = "openai"\napi_key = "secret:k"\n'
        '[providers.b]\nkind = "anthropic"\napi_key_env = "MY_KEY"\n',
        PATH,
    )
    secrets = MemorySecretStore({"k": "from-store"})
    assert config.providers["a"].resolve_api_key(secrets) == "from-store"
    monkeypatch.setenv("MY_KEY", "from-env")
    assert config.providers["b"].resolve_api_key(secrets) == "from-env"
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(ConfigError, match="MY_KEY"):
        config.providers["b"].resolve_api_key(secrets)


def test_syntax_error_names_file_line_and_column() -> None:
    message = error_of('default_agent = "a"\n[providers.x\nkind = "local"\n')
    assert message.startswith(f"{PATH}:2:")
    assert "invalid TOML" in message


def test_bad_kind_lists_the_choices() -> None:
    message = error_of('[providers.openai]\nkind = "opena"\n')
    assert message == (
        f"{PATH}:2: providers.openai.kind: invalid value 'opena' "
        "(expected one of openai, anthropic, openai-compatible, local, cortensor)"
    )


def test_unknown_key_suggests_the_closest() -> None:
    message = error_of("[telegram]\nallowed_users = [1]\n")
    assert message == (
        f"{PATH}:2: telegram.allowed_users: unknown key 'allowed_users' "
        "(did you mean 'allowed_user_ids'?)"
    )


def test_unknown_top_level_key_without_a_close_match() -> None:
    message = error_of("zzz = 1\n")
    assert "zzz: unknown key 'zzz'" in message
    assert "telegram, providers, agents, default_agent, cron" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[agents.a]\nprovider = "nope"\n',
            "agents.a.provider: unknown provider 'nope' (expected one of local)",
        ),
        ('default_agent = "ghost"\n', "default_agent: unknown agent 'ghost'"),
        (
            '[[cron]]\nname = "c"\nprompt = "p"\nevery = 60\nagent = "ghost"\n',
            "cron[0].agent: unknown agent 'ghost'",
        ),
        ('[[cron]]\nname = "c"\nprompt = "p"\n', "set exactly one of schedule or every"),
        ('[[cron]]\nname = "c"\nprompt = "p"\nschedule = "61 * * * *"\n', "minute 61"),
        ('[[cron]]\nname = "c"\nprompt = "p"\nevery = "soon"\n', "is not a duration"),
        (
            '[[cron]]\nname = "c"\nprompt = "p"\nevery = 5\ntimezone = "Mars/Base"\n',
            "unknown time zone 'Mars/Base'",
        ),
        (
            '[[cron]]\nname = "c"\nprompt = "p"\nevery = 5\n[[cron]]\nname = "c"\nprompt = "q"\nevery = 5\n',
            "cron[1].name: duplicate cron name 'c'",
        ),
        (
            '[[cron]]\nname = "c"\nprompt = "p"\nevery = 5\ndeliver = "webhook"\n',
            "cron[0].target: deliver = 'webhook' needs an http(s) URL",
        ),
        ('[agents.a]\nprovider = "local"\ntools = ["rm_rf"]\n', "unknown tool 'rm_rf'"),
        ('[providers.x]\nkind = "openai-compatible"\n', "providers.x.base_url: required"),
        (
            '[providers.x]\nkind = "openai"\napi_key = "a"\napi_key_env = "B"\n',
            "set only one of api_key or api_key_env",
        ),
        ('[providers.x]\nkind = "openai"\nsession_id = "1"\n', "only valid for kind 'cortensor'"),
        ('[telegram]\nallowed_user_ids = ["12"]\n', "(expected an integer)"),
        ('[telegram]\npoll_timeout = "30"\n', "telegram.poll_timeout: wrong type (str)"),
        ('[providers."a b"]\nkind = "local"\n', "invalid name 'a b'"),
        ('[telegram]\napi_base_url = "ftp://x"\n', "not an http(s) URL"),
        ("[agents.a]\n", "agents.a.provider: missing required key"),
    ],
)
def test_validation_errors_are_one_clear_line(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_error_points_at_the_line_of_the_key() -> None:
    text = '[providers.a]\nkind = "local"\n\n[agents.x]\nprovider = "a"\ntools = ["nope"]\n'
    assert error_of(text).startswith(f"{PATH}:6: agents.x.tools:")


def test_more_problems_are_counted() -> None:
    assert "and 1 more problem" in error_of("[telegram]\npoll_timeout = -1\nfoo = 1\n")


def test_builtin_tool_names_are_the_spec_list() -> None:
    assert BUILTIN_TOOLS == (
        "read_file",
        "write_file",
        "edit_file",
        "list_dir",
        "glob",
        "grep",
        "exec",
        "http_fetch",
        "weather",
        "browser",
        "memory_add",
        "memory_search",
        "delegate",
    )


def test_write_config_is_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.toml"
    data = {
        "default_agent": "bot",
        "providers": {"o": {"kind": "openai", "api_key": "secret:o_api_key", "model": "m"}},
        "agents": {"bot": {"provider": "o", "system_prompt": 'say "hi"\nnewline', "tools": []}},
        "telegram": {"token": "secret:telegram_token", "allowed_user_ids": [1, 2]},
        "cron": [{"name": "c", "every": "5m", "prompt": "p"}],
    }
    config = write_config(path, data)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == config
    assert config.agents["bot"].system_prompt == 'say "hi"\nnewline'
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        write_config(path, {})
    assert path.read_bytes() == before
    write_config(path, {}, overwrite=True)
    assert load_config(path) == default_config()


def test_invalid_data_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "pyclaw.toml"
    with pytest.raises(ConfigError, match=r"providers\.o\.kind"):
        write_config(path, {"providers": {"o": {"kind": "nope"}}})
    assert not path.exists()


def test_the_readme_configuration_example_is_valid() -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    blocks = re.findall(r"```toml\n(.*?)```", readme.read_text(), flags=re.S)
    assert blocks, "the README has a TOML example"
    config = parse_config(blocks[0])
    profile = config.agent_profile("assistant")
    assert profile.budget.max_steps == 16
    assert profile.context_tokens == 8192
    assert config.tools["exec"] == {"timeout_s": 60}
    assert config.policy.rules[0].tool == "exec"
