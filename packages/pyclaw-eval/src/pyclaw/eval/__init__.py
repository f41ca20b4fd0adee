"""Recorded sessions as regression checks: ``pyclaw eval replay`` as a library.

``read_session`` turns a session's events (``SessionLog.read``) into cases, one per user turn.
``replay`` re-runs each case through a ``Brain`` the caller builds from a ``ReplayIO`` (a private
scratch log holding the turn's history, tool results, policy decisions and approvals served from
the recording and, under ``strict``, the recorded model responses), then compares the answer, the
tool-call sequence, approvals, status and (strict) the whole event sequence with the recording;
an ``AnswerJudge`` (``ReplayOptions.judge``) also asks a ``Validator`` whether each answer holds.
The result is a ``ReplayReport`` (JSON, HTML, baseline comparison). Suites (TOML/YAML) and
portable, redacted session bundles build on the same pieces. This package depends on
``pyclaw-meta`` (and pydantic) only.
"""

from pyclaw.eval._assertions import Assertion
from pyclaw.eval._bundle import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    export_bundle,
    import_bundle,
    read_bundle,
)
from pyclaw.eval._cases import RecordedSession, ReplayCase, read_session
from pyclaw.eval._compare import EXACT, NORMALIZED, Comparator, comparator, normalize_text
from pyclaw.eval._engine import (
    CaseCallback,
    MakeBrain,
    ReplayIO,
    ReplayOptions,
    ToolsMode,
    replay,
    replay_case,
)
from pyclaw.eval._errors import BundleError, EvalError, SuiteError
from pyclaw.eval._facts import TurnFacts, call_signature, turn_facts
from pyclaw.eval._html import render_html
from pyclaw.eval._json import JsonCache
from pyclaw.eval._recorded import (
    Divergences,
    RecordedApprover,
    RecordedPolicy,
    RecordedProvider,
    RecordedToolHost,
)
from pyclaw.eval._report import (
    Attempt,
    CaseReport,
    Check,
    Judgement,
    Observed,
    ReplayReport,
    ReportSummary,
    read_report,
    with_baseline,
)
from pyclaw.eval._scratch import ScratchSessionLog
from pyclaw.eval._suite import Suite, SuiteCase, load_suite, run_suite
from pyclaw.eval._verdict import AnswerJudge, judgement_check

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "EXACT",
    "NORMALIZED",
    "AnswerJudge",
    "Assertion",
    "Attempt",
    "BundleError",
    "CaseCallback",
    "CaseReport",
    "Check",
    "Comparator",
    "Divergences",
    "EvalError",
    "JsonCache",
    "Judgement",
    "MakeBrain",
    "Observed",
    "RecordedApprover",
    "RecordedPolicy",
    "RecordedProvider",
    "RecordedSession",
    "RecordedToolHost",
    "ReplayCase",
    "ReplayIO",
    "ReplayOptions",
    "ReplayReport",
    "ReportSummary",
    "ScratchSessionLog",
    "Suite",
    "SuiteCase",
    "SuiteError",
    "ToolsMode",
    "TurnFacts",
    "call_signature",
    "comparator",
    "export_bundle",
    "import_bundle",
    "judgement_check",
    "load_suite",
    "normalize_text",
    "read_bundle",
    "read_report",
    "read_session",
    "render_html",
    "replay",
    "replay_case",
    "run_suite",
    "turn_facts",
    "with_baseline",
]
