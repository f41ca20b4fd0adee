"""``[policy]`` config: defaults and clear errors for malformed tables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pyclaw.meta import ConfigError, RiskLevel, Verdict
from pyclaw.policy import DEFAULT_BY_RISK, PolicyConfig


def test_defaults() -> None:
    config = PolicyConfig.load({})
    assert config.rules == []
    assert config.default_by_risk == DEFAULT_BY_RISK
    assert config.default_by_risk[RiskLevel.RISKY] is Verdict.ASK
    assert config.approval_timeout_s == 1800
    assert config.fresh_approval_after_untrusted == ["exec"]
    assert config.default_window_s == 600
    assert config.max_window_s == 7 * 24 * 3600


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"rules": [{"verdict": "allow", "tool": "exec", "args": {"command": "git (status"}}]},
            "pyclaw.toml: policy.rules.0.args: invalid regex for argument 'command': 'git (status'",
        ),
        (
            {"rules": [{"verdict": "maybe", "tool": "exec"}]},
            "pyclaw.toml: policy.rules.0.verdict: Input should be 'allow', 'deny' or 'ask'",
        ),
        (
            {"rules": [{"verdict": "allow"}]},
            "pyclaw.toml: policy.rules.0.tool: Field required",
        ),
        (
            {"rules": [{"verdict": "allow", "tool": "exec", "command": "ls"}]},
            "pyclaw.toml: policy.rules.0.command: Extra inputs are not permitted",
        ),
        ({"approvals": 3}, "pyclaw.toml: policy.approvals: Extra inputs are not permitted"),
        (
            {"approval_timeout_s": 0},
            "pyclaw.toml: policy.approval_timeout_s: Input should be greater than 0",
        ),
        (
            {"default_by_risk": {"scary": "deny"}},
            "pyclaw.toml: policy.default_by_risk.scary.[key]: Input should be 'safe', 'moderate', "
            "'risky' or 'dangerous'",
        ),
        (
            {"default_window_s": 10, "max_window_s": 5},
            "pyclaw.toml: policy: default_window_s (10) exceeds max_window_s (5)",
        ),
        (
            {"rules": [{"verdict": "x", "tool": ""}]},
            "(and 1 more problem)",
        ),
    ],
)
def test_malformed_config_is_one_clear_config_error(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        PolicyConfig.load(data, file="pyclaw.toml")
    text = str(info.value)
    assert message in text
    assert "\n" not in text
    assert info.value.exit_code == 2


def test_invalid_regex_also_fails_plain_validation() -> None:
    with pytest.raises(ValidationError, match="invalid regex for argument 'command'"):
        PolicyConfig.model_validate(
            {"rules": [{"verdict": "deny", "tool": "exec", "args": {"command": "*"}}]}
        )


def test_config_is_immutable() -> None:
    config = PolicyConfig()
    with pytest.raises(ValidationError):
        config.approval_timeout_s = 5  # pyright: ignore[reportAttributeAccessIssue]
