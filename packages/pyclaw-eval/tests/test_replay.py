"""Replaying recorded turns: strict determinism, changed answers and tool sequences, recorded
tools never executed, pass^k, baselines, reports."""

from __future__ import annotations

import json
from pathlib import Path

from pyclaw_eval_minibrain import Recording, ScriptModel, record, recorded_brain

from pyclaw.eval import (
    NORMALIZED,
    ReplayOptions,
    ReplayReport,
    read_report,
    read_session,
    render_html,
    replay,
    with_baseline,
)
from pyclaw.meta import ToolCall

READ = ToolCall(id="call_1", name="read_file", arguments={"path": "notes.txt"})
EXEC = ToolCall(id="call_2", name="exec", arguments={"command": "make"})


async def two_turns() -> Recording:
    return await record(
        [
            ("What do my notes say?", [READ, "They say: buy milk."]),
            ("Build it.", [EXEC, "Built."]),
        ],
        files={"notes.txt": "buy milk"},
    )


async def run(
    rec: Recording, options: ReplayOptions, model: ScriptModel | None = None
) -> ReplayReport:
    events = await rec.log.read(rec.session_id)
    session = read_session(rec.session_id, events)
    return await replay([session], recorded_brain(model), options)


async def test_cases_are_read_one_per_user_turn() -> None:
    rec = await two_turns()
    session = read_session(rec.session_id, await rec.log.read(rec.session_id))
    assert [c.prompt for c in session.cases] == ["What do my notes say?", "Build it."]
    first, second = session.cases
    assert first.facts.answer == "They say: buy milk."
    assert first.facts.tool_sequence == ['read_file {"path":"notes.txt"}']
    assert second.facts.approval_sequence == ['exec {"command":"make"}']
    assert first.prefix == 0
    assert second.prefix == len(first.events)
    assert first.facts.usage.total_tokens == 30
    assert first.events[0].kind == "run_started"


async def test_strict_replay_of_the_same_code_passes_and_executes_nothing() -> None:
    rec = await two_turns()
    rec.files.files.clear()  # a real read would now fail
    report = await run(rec, ReplayOptions(strict=True))
    assert report.exit_code == 0, [
        c.detail for case in report.cases for a in case.attempts for c in a.failures
    ]
    assert [c.passed for c in report.cases] == [True, True]
    assert {c.name for c in report.cases[0].attempts[0].checks} >= {"events", "answer", "tools"}
    assert rec.files.ran == ["make"]  # only the recording ran exec; the replay did not
    assert report.cases[1].attempts[0].observed.approvals == ('exec {"command":"make"}',)


async def test_a_changed_answer_fails_with_a_readable_diff() -> None:
    rec = await two_turns()
    model = ScriptModel([READ, "They say: buy bread."])
    report = await run(rec, ReplayOptions(), model)
    first = report.cases[0]
    assert not first.passed
    answer = next(c for c in first.attempts[0].checks if c.name == "answer")
    assert not answer.ok
    assert "-They say: buy milk." in answer.diff
    assert "+They say: buy bread." in answer.diff
    assert report.exit_code == 1


async def test_normalized_comparison_forgives_case_and_spacing() -> None:
    rec = await record([("hi", ["Hello   there"])])
    report = await run(rec, ReplayOptions(compare=NORMALIZED), ScriptModel(["hello there "]))
    assert report.exit_code == 0
    strict = await run(rec, ReplayOptions(), ScriptModel(["hello there "]))
    assert strict.exit_code == 1


async def test_a_changed_tool_sequence_fails_and_the_unknown_call_is_a_divergence() -> None:
    rec = await two_turns()
    other = ToolCall(id="call_9", name="read_file", arguments={"path": "secrets.txt"})
    report = await run(rec, ReplayOptions(), ScriptModel([other, "They say: buy milk."]))
    checks = {c.name: c for c in report.cases[0].attempts[0].checks}
    assert not checks["tools"].ok
    assert '-read_file {"path":"notes.txt"}' in checks["tools"].diff
    assert '+read_file {"path":"secrets.txt"}' in checks["tools"].diff
    assert not checks["divergence"].ok
    assert "not in the recording" in checks["divergence"].detail
    assert report.exit_code == 1


async def test_strict_detects_a_prompt_the_code_now_builds_differently() -> None:
    rec = await two_turns()
    events = await rec.log.read(rec.session_id)
    session = read_session(rec.session_id, events)
    base = recorded_brain()

    def make(io):
        brain = base(io)
        real = brain.tools

        class Shouting:
            def list_tools(self):
                return real.list_tools()

            async def execute(self, call, context):
                result = await real.execute(call, context)
                return result.model_copy(update={"content": result.content.upper()})

        brain.tools = Shouting()
        return brain

    report = await replay([session], make, ReplayOptions(strict=True))
    checks = {c.name: c for c in report.cases[0].attempts[0].checks}
    assert not checks["events"].ok
    assert "tool_result" in checks["events"].detail
    assert "BUY MILK" in checks["events"].detail or "BUY MILK" in checks["events"].diff
    assert "the prompt messages differ" in checks["divergence"].diff
    assert report.exit_code == 1


async def test_repeat_gives_pass_hat_k() -> None:
    rec = await record([("hi", ["yes"])])
    answers = iter(["yes", "no", "yes"])
    model = ScriptModel(lambda _request: next(answers))
    report = await run(rec, ReplayOptions(repeat=3), model)
    case = report.cases[0]
    assert (case.passes, len(case.attempts), case.passed) == (2, 3, False)
    assert report.summary.pass_hat_k == 0.0
    assert round(report.summary.pass_at_1, 3) == 0.667


async def test_baseline_marks_improved_and_regressed(tmp_path: Path) -> None:
    rec = await record([("one", ["1"]), ("two", ["2"])])
    old = await run(rec, ReplayOptions(), ScriptModel(["1", "wrong"]))
    path = tmp_path / "base.json"
    old.write(path)
    assert json.loads(path.read_text())["format"] == "pyclaw-eval-report"
    new = await run(rec, ReplayOptions(), ScriptModel(["bad", "2"]))
    marked = with_baseline(new, read_report(path), str(path))
    assert [c.baseline for c in marked.cases] == ["regressed", "improved"]
    assert (marked.summary.improved, marked.summary.regressed) == (1, 1)
    assert marked.exit_code == 1
    fixed = with_baseline(await run(rec, ReplayOptions(), ScriptModel(["1", "wrong"])), old, "b")
    assert [c.baseline for c in fixed.cases] == ["unchanged", "unchanged"]
    assert fixed.exit_code == 0  # the known failure is no regression against the baseline


async def test_html_report_is_escaped() -> None:
    rec = await record([("<script>alert(1)</script>", ["<b>hi</b>"])])
    report = await run(rec, ReplayOptions(), ScriptModel(["<i>changed</i>"]))
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;i&gt;changed&lt;/i&gt;" in html
    assert html.startswith("<!doctype html>")
