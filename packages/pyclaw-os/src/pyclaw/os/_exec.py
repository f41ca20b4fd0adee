"""The ``exec`` tool: a shell command in the workspace, bounded in time and output.

The command runs as ``/bin/sh -c COMMAND`` in a new session (so a new process group) with its
working directory inside the workspace and a scrubbed environment (no ``PYCLAW_SECRET_*`` and no
variable whose name contains KEY, TOKEN, SECRET or PASSWORD). stdout and stderr are captured
together, up to a byte cap. When the command ends, times out or the call is cancelled, the whole
process group is killed: background jobs do not outlive the call. The shell itself is not
confined to the workspace: that is why the tool is ``risky`` and goes through policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from pyclaw.meta import RiskLevel
from pyclaw.os._blocking import run_blocking
from pyclaw.os._errors import ToolTimeoutError
from pyclaw.os._file_tools import StrictArgs
from pyclaw.os._paths import Workspace, resolve
from pyclaw.os._tool import Tool, ToolRun

MAX_CAPTURE_BYTES = 1_000_000
DRAIN_SECONDS = 0.2
"""How long to keep reading after the shell exited (for output still in the pipe)."""
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def scrub_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without secrets: ``PYCLAW_SECRET_*`` and names with KEY, TOKEN,
    SECRET or PASSWORD in them (any case)."""
    return {
        name: value
        for name, value in environ.items()
        if not any(marker in name.upper() for marker in _SECRET_MARKERS)
        and not name.upper().startswith("PYCLAW_SECRET_")
    }


class ExecArgs(StrictArgs):
    command: str = Field(min_length=1, description="Shell command, run with /bin/sh -c.")
    cwd: str = Field(default=".", description="Working directory relative to the workspace.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Seconds before the command is killed (capped)."
    )


class _Capture(asyncio.SubprocessProtocol):
    """Collects the merged output up to a cap; notes when the process exits and the pipe closes."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self.exited = asyncio.Event()
        self.closed = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += data[:room]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.closed.set()

    def process_exited(self) -> None:
        self.exited.set()

    def text(self) -> str:
        out = self.data.decode("utf-8", errors="replace")
        if self.total > len(self.data):
            out += f"\n[output capped: {self.total - len(self.data):,} more bytes discarded]"
        return out


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def run_shell(
    command: str, *, cwd: str, env: Mapping[str, str], timeout_s: float, cap: int
) -> tuple[int | None, str]:
    """Run ``command``; returns (exit code, output), exit code None when it timed out."""
    loop = asyncio.get_running_loop()
    transport, capture = await loop.subprocess_exec(
        lambda: _Capture(cap),
        "/bin/sh",
        "-c",
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,
    )
    pgid = transport.get_pid()
    try:
        try:
            await asyncio.wait_for(capture.exited.wait(), timeout_s)
        except TimeoutError:
            _kill_group(pgid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(capture.exited.wait(), 5)
            return None, capture.text()
        # Output may still sit in the pipe; a background job may hold it open forever.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(capture.closed.wait(), DRAIN_SECONDS)
        return transport.get_returncode(), capture.text()
    finally:
        _kill_group(pgid)
        transport.close()


class ExecTool(Tool[ExecArgs]):
    """Runs a shell command in the workspace."""

    name: ClassVar[str] = "exec"
    description: ClassVar[str] = (
        "Run a shell command (/bin/sh -c) with its working directory in the workspace. "
        "Returns the combined stdout and stderr and the exit code. Background processes are "
        "killed when the command ends."
    )
    args_model = ExecArgs
    risk: ClassVar[RiskLevel] = RiskLevel.RISKY
    timeout_s: float = 120.0

    async def run(self, args: ExecArgs, run: ToolRun) -> str:
        workspace = Workspace.at(run.workspace)

        def find_cwd(_: object) -> str:
            with resolve(workspace, args.cwd, want="dir") as found:
                return str(workspace.root / found.rel) if found.rel else str(workspace.root)

        cwd = await run_blocking(find_cwd)
        settings = run.env.settings_for(self.name)
        limit = _number(settings.get("timeout_s"), self.timeout_s)
        cap = int(_number(settings.get("max_capture_bytes"), MAX_CAPTURE_BYTES))
        # Stop a little before the host's own deadline so the partial output is kept.
        deadline = max(0.1, limit - 0.5)
        if args.timeout_s is not None:
            deadline = min(deadline, args.timeout_s)
        code, output = await run_shell(
            args.command, cwd=cwd, env=scrub_env(os.environ), timeout_s=deadline, cap=cap
        )
        if code is None:
            raise ToolTimeoutError(
                f"command timed out after {deadline:g} s; its process group was killed",
                partial_output=output,
            )
        if output and not output.endswith("\n"):
            output += "\n"
        return f"{output}[exit code: {code}]"


def _number(value: object, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )
