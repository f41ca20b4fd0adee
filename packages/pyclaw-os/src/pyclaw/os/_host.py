"""``LocalToolHost``: runs registered tools in-process and always answers with a ``ToolResult``.

Tool failures never raise out of ``execute``: an unknown tool, arguments that are not JSON or do
not validate, a timeout, a ``ToolError`` or any unexpected exception all come back as a result
the model can read and react to. Only the cancellation of ``execute`` itself propagates (after the
tool's task was cancelled), so the caller can record the call as cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from pydantic import ValidationError

from pyclaw.meta import (
    ArtifactRef,
    ErrorInfo,
    PyClawError,
    ToolCall,
    ToolContext,
    ToolResult,
    ToolSpec,
    ToolStatus,
)
from pyclaw.os._errors import ToolTimeoutError
from pyclaw.os._registry import ToolRegistry
from pyclaw.os._results import cap_output, describe_validation_error
from pyclaw.os._tool import Tool, ToolEnv, ToolOutput, ToolRun

logger = logging.getLogger("pyclaw.os")

CANCEL_GRACE_S = 5.0
"""How long a cancelled tool task may take to unwind before the host stops waiting for it."""


class LocalToolHost:
    """The in-process ``pyclaw.meta.ToolHost``: a ``ToolRegistry`` plus a ``ToolEnv``.

    Per call: validation against the tool's ``args_model``, a timeout (``tool.timeout_s``, or
    ``env.settings[name]["timeout_s"]``), an output cap (``tool.max_output_chars``, or
    ``settings[name]["max_output_chars"]``) with the full output stored in ``env.artifacts``.
    """

    def __init__(
        self,
        env: ToolEnv,
        tools: ToolRegistry | Iterable[Tool[Any]] = (),
        *,
        cancel_grace_s: float = CANCEL_GRACE_S,
    ) -> None:
        self.env = env
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self._grace = cancel_grace_s

    def list_tools(self) -> list[ToolSpec]:
        return self.registry.specs()

    def get_spec(self, name: str) -> ToolSpec | None:
        return self.registry.spec(name)

    async def aclose(self) -> None:
        """Release what tools hold between calls (e.g. the browser tool's Chromium): every tool
        with an ``aclose()`` is closed; one failing does not keep the others open."""
        errors: list[BaseException] = []
        for name in self.registry.names():
            closer = getattr(self.registry.get(name), "aclose", None)
            if callable(closer):
                try:
                    await cast("Callable[[], Awaitable[object]]", closer)()
                except Exception as exc:  # noqa: BLE001 - keep closing the others
                    errors.append(exc)
        if errors:
            raise errors[0]

    def _setting(self, tool: Tool[Any], key: str, default: float) -> float:
        value = self.env.settings_for(tool.name).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        return default

    async def execute(self, call: ToolCall, context: ToolContext) -> ToolResult:
        started = time.perf_counter()
        tool = self.registry.get(call.name)
        if tool is None:
            known = ", ".join(self.registry.names()) or "none"
            message = f"unknown tool {call.name!r}; known tools: {known}"
            return _result(
                call, started, "error", message, ErrorInfo(type="UnknownTool", message=message)
            )
        if call.raw_arguments is not None:
            preview = call.raw_arguments[:200]
            message = (
                f"the arguments for {call.name} are not valid JSON: {preview!r}; "
                "send one JSON object that matches the tool's parameters"
            )
            return _result(call, started, "error", message, _invalid(message))
        try:
            args = tool.args_model.model_validate(call.arguments)
        except ValidationError as exc:
            message = describe_validation_error(call.name, exc)
            return _result(call, started, "error", message, _invalid(message))
        return await self._run(tool, args, call, context, started)

    async def _run(
        self, tool: Tool[Any], args: Any, call: ToolCall, context: ToolContext, started: float
    ) -> ToolResult:
        timeout = self._setting(tool, "timeout_s", tool.timeout_s)
        task = asyncio.create_task(
            tool.run(args, ToolRun(context=context, env=self.env)),
            name=f"tool {call.name} {call.id}",
        )
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except asyncio.CancelledError:
            await self._stop(task)
            raise
        if not done:
            await self._stop(task)
            message = f"{call.name} timed out after {timeout:g} s and was stopped"
            info = ErrorInfo(type="ToolTimeout", message=message, retryable=True)
            return await self._finish(
                tool, call, started, status="timeout", content=message, error=info
            )
        if task.cancelled():
            message = f"{call.name} was cancelled"
            info = ErrorInfo(type="Cancelled", message=message)
            return await self._finish(
                tool, call, started, status="cancelled", content=message, error=info
            )
        exc = task.exception()
        if exc is None:
            return await self._output(tool, call, started, task.result())
        if isinstance(exc, ToolTimeoutError):
            content = f"{exc.message}\n{exc.partial_output}" if exc.partial_output else exc.message
            info = exc.to_info()
            return await self._finish(
                tool, call, started, status="timeout", content=content, error=info
            )
        if isinstance(exc, PyClawError):
            return await self._finish(
                tool, call, started, status="error", content=str(exc), error=exc.to_info()
            )
        if not isinstance(
            exc, Exception
        ):  # KeyboardInterrupt, SystemExit: not the model's business
            raise exc
        message = f"{call.name} failed: {type(exc).__name__}: {exc}"
        info = ErrorInfo(type=type(exc).__name__, message=str(exc))
        return await self._finish(tool, call, started, status="error", content=message, error=info)

    async def _stop(self, task: asyncio.Task[Any]) -> None:
        task.cancel()
        await asyncio.wait({task}, timeout=self._grace)
        if not task.done():
            logger.warning(
                "tool task %s ignored cancellation for %.1f s", task.get_name(), self._grace
            )
        elif not task.cancelled():
            task.exception()  # retrieved: a late failure is not "never retrieved"

    async def _output(
        self, tool: Tool[Any], call: ToolCall, started: float, out: str | ToolOutput
    ) -> ToolResult:
        if isinstance(out, str):
            return await self._finish(tool, call, started, status="ok", content=out, error=None)
        info = None
        if out.is_error:
            first = out.content.splitlines()[0][:500] if out.content.strip() else "the tool failed"
            info = ErrorInfo(type="ToolError", message=first)
        return await self._finish(
            tool,
            call,
            started,
            status="error" if out.is_error else "ok",
            content=out.content,
            error=info,
            artifacts=out.artifacts,
            untrusted=out.untrusted,
        )

    async def _finish(
        self,
        tool: Tool[Any],
        call: ToolCall,
        started: float,
        *,
        status: ToolStatus,
        content: str,
        error: ErrorInfo | None,
        artifacts: tuple[ArtifactRef, ...] = (),
        untrusted: bool = False,
    ) -> ToolResult:
        limit = int(self._setting(tool, "max_output_chars", tool.max_output_chars))
        capped = await cap_output(
            content, limit=limit, store=self.env.artifacts, name=f"{call.name}-{call.id}.txt"
        )
        return ToolResult(
            call_id=call.id,
            name=call.name,
            status=status,
            content=capped.content,
            artifacts=(*artifacts, *capped.artifacts),
            error=error,
            untrusted=tool.untrusted or untrusted,
            truncated=capped.truncated,
            duration_ms=_ms(started),
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _invalid(message: str) -> ErrorInfo:
    return ErrorInfo(type="InvalidArguments", message=message)


def _result(
    call: ToolCall, started: float, status: ToolStatus, content: str, error: ErrorInfo
) -> ToolResult:
    return ToolResult(
        call_id=call.id,
        name=call.name,
        status=status,
        content=content,
        error=error,
        duration_ms=_ms(started),
    )
