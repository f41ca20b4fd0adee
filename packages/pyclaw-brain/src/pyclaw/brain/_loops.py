"""Loop detection: the same failing call, made again and again, stops the run."""

from __future__ import annotations

from pyclaw.brain._state import Outcome
from pyclaw.meta import ErrorInfo, RunStatus, ToolCall, ToolResult

_SHORT = 300


class LoopDetector:
    """Counts failed results per exact call (tool name and ``call_hash``) within one run.

    A success of that same call clears its count; a cancelled call is not a failure. When a count
    reaches ``threshold`` the run is stopped and the user told which call kept failing and why.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._failures: dict[tuple[str, str], int] = {}

    def observe(self, call: ToolCall, result: ToolResult) -> Outcome | None:
        """Count ``result``; the outcome that stops the run when the call is now a loop."""
        key = (call.name, call.call_hash)
        if result.ok:
            self._failures.pop(key, None)
            return None
        if result.status == "cancelled":
            return None
        count = self._failures[key] = self._failures.get(key, 0) + 1
        if count < self.threshold:
            return None
        reason = _reason(result)
        return Outcome(
            RunStatus.FAILED,
            ErrorInfo(
                type="LoopDetected",
                message=f"the same call to {call.name!r} failed {count} times: {reason}",
                details={"tool": call.name, "call_hash": call.call_hash, "failures": count},
            ),
            note=f"loop detected: {call.name!r} failed {count} times with the same arguments "
            f"({result.status}: {reason})",
            say=f"I stopped because the call to `{call.name}` kept failing with the same "
            f"arguments ({count} times). The last error was: {reason}",
        )


def _reason(result: ToolResult) -> str:
    text = result.error.message if result.error is not None else result.content
    text = " ".join(text.split()) or result.status
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"
