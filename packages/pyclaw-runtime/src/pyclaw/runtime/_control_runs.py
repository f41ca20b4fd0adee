"""``pyclaw runs stop``: the kill switch, through the daemon's ``runs.stop`` op."""

from __future__ import annotations

import asyncio

from pyclaw.meta import PyClawError, RunNotFoundError, RunRecord, RunStatus
from pyclaw.runtime import _sessions
from pyclaw.runtime._control_client import control_request, daemon_running
from pyclaw.runtime._home import PyClawHome

STOP_TIMEOUT_S = 10.0


class UnknownRunError(RunNotFoundError):
    """``runs stop`` named a run that was never recorded."""

    exit_code = 2


class RunNotRunningError(PyClawError):
    """``runs stop`` named a run that no process is running."""


def stop_run(home: PyClawHome, run_id: str) -> str:
    """Stop ``run_id`` in the daemon; the line to print. Raises one of the errors above."""
    if daemon_running(home):
        reply = asyncio.run(
            control_request(
                home.control_socket, {"op": "runs.stop", "run_id": run_id}, timeout=STOP_TIMEOUT_S
            )
        )
        if reply.get("stopped") is True:
            return f"stopped run {run_id}"
        record = _record(home, run_id)
        if record.status is RunStatus.RUNNING:
            raise RunNotRunningError(
                f"run {run_id} is not running in the daemon (it is recorded as running: "
                "another process, such as 'pyclaw chat --local', may own it)"
            )
        raise RunNotRunningError(f"run {run_id} is not running (status: {record.status.value})")
    record = _record(home, run_id)
    if record.status is RunStatus.RUNNING:
        raise RunNotRunningError(
            f"no daemon is running; run {run_id} is not running in any process "
            "(it will be marked interrupted when the daemon starts)"
        )
    raise RunNotRunningError(f"run {run_id} is not running (status: {record.status.value})")


def _record(home: PyClawHome, run_id: str) -> RunRecord:
    try:
        return asyncio.run(_sessions.get_run(home, run_id))
    except RunNotFoundError:
        raise UnknownRunError(f"no run with id {run_id!r}") from None
