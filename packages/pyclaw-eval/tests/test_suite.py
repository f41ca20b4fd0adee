"""Suite files (TOML and YAML), their validation errors, and assertions on replayed and inline cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyclaw_eval_minibrain import ScriptModel, record, recorded_brain

from pyclaw.eval import RecordedSession, Suite, SuiteError, load_suite, read_session, run_suite
from pyclaw.meta import ToolCall

READ = ToolCall(id="call_1", name="read_file", arguments={"path": "notes.txt"})

SUITE = """
name = "smoke"
compare = "normalized"

[[cases]]
session = "{sid}"
assert = [
  {{ tool_called = "read_file", args = {{ path = "notes.txt" }} }},
  {{ tool_not_called = "exec" }},
  {{ regex = "milk\\\\.$" }},
  {{ max_cost_usd = 0.01 }},
]

[[cases]]
name = "greets"
prompt = "Say hello"
assert = [{{ contains = "hello" }}, {{ equals = "nope" }}]
"""


async def test_toml_suite_runs_sessions_and_inline_prompts(tmp_path: Path) -> None:
    rec = await record([("notes?", [READ, "They say: buy milk."])], files={"notes.txt": "buy milk"})
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(sid=rec.session_id))
    suite = load_suite(path)
    assert suite.compare == "normalized"

    async def load(session_id: str) -> RecordedSession:
        return read_session(session_id, await rec.log.read(session_id))

    model = ScriptModel(
        lambda request: (
            [READ, "They say: buy milk."][len(request.messages) > 1]
            if request.messages[0].text == "notes?"
            else "hello world"
        )
    )
    report = await run_suite(
        suite, load_session=load, make_brain=recorded_brain(model), default_agent="main"
    )
    replayed, inline = report.cases
    assert replayed.passed, [c.detail for c in replayed.attempts[0].failures]
    assert sum(1 for c in replayed.attempts[0].checks if c.name == "assertion") == 4
    assert inline.id == "prompt:greets"
    assert not inline.passed
    failures = inline.attempts[0].failures
    assert [f.detail for f in failures] == ["equals 'nope' failed (answer: 'hello world')"]
    assert report.exit_code == 1
    assert report.settings["suite"] == "smoke"


def test_yaml_suite_loads(tmp_path: Path) -> None:
    pytest.importorskip("yaml", reason="YAML suites need the 'yaml' extra")
    path = tmp_path / "suite.yaml"
    path.write_text(
        "cases:\n  - prompt: hi\n    assert:\n      - contains: hi\n      - tool_not_called: exec\n"
    )
    suite = load_suite(path)
    assert isinstance(suite, Suite)
    assert suite.cases[0].assertions[1].tool_not_called == "exec"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases = []", "cases: Tuple should have at least 1 item"),
        ('[[cases]]\nprompt = "x"\nsession = "y"', "exactly one of 'session' or 'prompt'"),
        (
            '[[cases]]\nprompt = "x"\nassert = [{ contains = "a", equals = "b" }]',
            "exactly one of contains",
        ),
        ('[[cases]]\nprompt = "x"\nassert = [{ regex = "(" }]', "invalid regex"),
        ('[[cases]]\nprompt = "x"\nassert = [{ contain = "a" }]', "Extra inputs are not permitted"),
        ("[[cases]\n", "invalid TOML"),
    ],
)
def test_invalid_suites_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SuiteError, match=r"bad\.toml") as info:
        load_suite(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
