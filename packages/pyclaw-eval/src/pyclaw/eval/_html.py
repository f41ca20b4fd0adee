"""A self-contained HTML page of a replay report (every value escaped; no scripts, no links)."""

from __future__ import annotations

from html import escape

from pyclaw.eval._report import CaseReport, ReplayReport

_STYLE = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}.pass{color:#161}.fail{color:#a11;font-weight:bold}
.warn{color:#a60;font-weight:bold}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;margin:4px 0}
"""


def judged(report: ReplayReport) -> bool:
    """Whether a judge gave (or was asked for) an opinion on any attempt of ``report``."""
    return any(a.judgement is not None for c in report.cases for a in c.attempts)


def _judge_cell(case: CaseReport) -> str:
    """Every attempt's verdict (``VALID 0.90``), with the first reason or error below."""
    parts: list[str] = []
    for attempt in case.attempts:
        j = attempt.judgement
        if j is None:
            continue
        why = j.error or (j.reasons[0] if j.reasons else "")
        css = {"valid": "pass", "invalid": "fail"}.get(j.outcome, "warn")
        parts.append(
            f'<span class="{css}">{escape(j.label())}</span>'
            + (f"<br><small>{escape(why)}</small>" if why else "")
        )
    return "<br>".join(parts)


def _case_row(case: CaseReport, *, judge: bool = False) -> str:
    verdict = "pass" if case.passed else "fail"
    last = case.attempts[-1] if case.attempts else None
    failures = (
        ""
        if last is None
        else "".join(
            f"<div><b>{escape(c.name)}</b>: {escape(c.detail)}"
            + (f"<pre>{escape(c.diff)}</pre>" if c.diff else "")
            + "</div>"
            for c in last.failures
        )
    )
    observed = last.observed if last is not None else None
    cost = "" if observed is None else f"{observed.cost_usd:.4f}"
    tokens = "" if observed is None else str(observed.usage.total_tokens)
    cells = [
        escape(case.id),
        escape(case.name or case.prompt[:120]),
        f'<span class="{verdict}">{verdict}</span> {case.passes}/{len(case.attempts)}',
        escape(case.baseline or ""),
        tokens,
        cost,
        *([_judge_cell(case)] if judge else []),
        failures,
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def render_html(report: ReplayReport) -> str:
    """The report as one HTML document."""
    s = report.summary
    settings = ", ".join(f"{escape(k)}={escape(str(v))}" for k, v in report.settings.items())
    judge = judged(report)
    headers = ("case", "prompt", "result", "baseline", "tokens", "cost $")
    headers += ("judge", "what differs") if judge else ("what differs",)
    head = "".join(f"<th>{h}</th>" for h in headers)
    rows = "\n".join(_case_row(c, judge=judge) for c in report.cases)
    verdicts = (
        f"<p>judge {escape(str(report.settings.get('judge') or ''))}: {s.judge_valid} valid, "
        f"{s.judge_invalid} invalid, {s.judge_inconclusive} inconclusive.</p>"
        if judge
        else ""
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>pyclaw eval: {s.passed}/{s.cases} passed</title><style>{_STYLE}</style></head>"
        f"<body><h1>pyclaw eval replay</h1><p>{s.passed} of {s.cases} cases passed "
        f"(pass^k {s.pass_hat_k:.2f}, pass@1 {s.pass_at_1:.2f}); {s.improved} improved, "
        f"{s.regressed} regressed; {s.seconds:.2f} s.</p>{verdicts}<p>{settings}</p>"
        f"<table><tr>{head}</tr>\n{rows}\n</table></body></html>\n"
    )
