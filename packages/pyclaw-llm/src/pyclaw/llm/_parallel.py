"""``complete_many``: the same request to several providers or models at once (ensembles, eval)."""
# ruff: noqa: ASYNC109 - a timeout inside, not asyncio.timeout outside: mode="all" returns what
# finished in time, which a cancelled caller could not

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, overload

from pyclaw.llm._targets import Target, request_for, target_label
from pyclaw.meta import LLMRequest, LLMResponse, ProviderError, UsageError

Validator = Callable[[LLMResponse], bool | Awaitable[bool]]
"""Says whether a response is usable (sync or async). Raising counts as "not usable"."""


class _RejectedError(Exception):
    """A response that arrived but did not pass ``validate``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _ask(target: Target, request: LLMRequest, validate: Validator | None) -> LLMResponse:
    provider, sent = request_for(target, request)
    response = await provider.complete(sent)
    if validate is None:
        return response
    try:
        verdict = validate(response)
        if inspect.isawaitable(verdict):
            verdict = await verdict
    except Exception as exc:
        raise _RejectedError(f"validate raised {type(exc).__name__}: {exc}") from exc
    if not verdict:
        raise _RejectedError("rejected by validate")
    return response


async def _cancel(tasks: Sequence[asyncio.Task[LLMResponse]]) -> None:
    """Cancel every unfinished task and wait until each has really stopped."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


@overload
async def complete_many(
    targets: Sequence[Target],
    request: LLMRequest,
    *,
    mode: Literal["first_valid"] = "first_valid",
    validate: Validator | None = None,
    timeout: float | None = None,
) -> LLMResponse: ...


@overload
async def complete_many(
    targets: Sequence[Target],
    request: LLMRequest,
    *,
    mode: Literal["all"],
    timeout: float | None = None,
) -> list[LLMResponse | Exception]: ...


async def complete_many(
    targets: Sequence[Target],
    request: LLMRequest,
    *,
    mode: Literal["first_valid", "all"] = "first_valid",
    validate: Validator | None = None,
    timeout: float | None = None,
) -> LLMResponse | list[LLMResponse | Exception]:
    """Send ``request`` to every target concurrently.

    A target is a provider or ``(provider, model)`` (the same provider may appear with several
    models). ``mode="first_valid"`` returns the first response that passes ``validate`` (any
    response when it is ``None``; on a tie, the earlier target), then cancels the other calls and
    waits until they have stopped. If none is valid it raises ``ProviderError`` listing why each
    failed (``retryable`` when every failure was). ``mode="all"`` waits for every call and returns,
    in target order, each response or the exception it raised. ``timeout`` (seconds) bounds the
    whole thing: unfinished calls are cancelled and count as retryable ``ProviderError``s. An
    exception that is not a ``ProviderError`` (a bug) propagates in ``first_valid`` mode.
    """
    if not targets:
        raise UsageError("complete_many needs at least one provider")
    if mode == "all" and validate is not None:
        raise UsageError("validate applies to mode='first_valid' only; check the results yourself")
    labels = [target_label(t) for t in targets]
    tasks = [
        asyncio.create_task(_ask(t, request, validate), name=f"complete_many {label}")
        for t, label in zip(targets, labels, strict=True)
    ]
    try:
        if mode == "all":
            return await _gather_all(tasks, labels, timeout)
        return await _first_valid(tasks, labels, timeout)
    finally:
        await _cancel(tasks)


def _timed_out(label: str, timeout: float | None) -> ProviderError:
    return ProviderError(f"{label}: no answer within {timeout:g} s", retryable=True, provider=label)


async def _gather_all(
    tasks: list[asyncio.Task[LLMResponse]], labels: list[str], timeout: float | None
) -> list[LLMResponse | Exception]:
    await asyncio.wait(tasks, timeout=timeout)
    results: list[LLMResponse | Exception] = []
    for task, label in zip(tasks, labels, strict=True):
        if not task.done():
            results.append(_timed_out(label, timeout))
        elif task.cancelled():
            results.append(ProviderError(f"{label}: the call was cancelled", provider=label))
        else:
            exc = task.exception()
            if exc is None:
                results.append(task.result())
            elif isinstance(exc, Exception):
                results.append(exc)
            else:
                raise exc
    return results


async def _first_valid(
    tasks: list[asyncio.Task[LLMResponse]], labels: list[str], timeout: float | None
) -> LLMResponse:
    loop = asyncio.get_running_loop()
    end = None if timeout is None else loop.time() + timeout
    failures: dict[int, ProviderError | _RejectedError] = {}
    pending = set(tasks)
    while pending:
        left = None if end is None else max(0.0, end - loop.time())
        done, pending = await asyncio.wait(pending, timeout=left, return_when="FIRST_COMPLETED")
        if not done:
            break
        for index, task in enumerate(tasks):
            if task not in done:
                continue
            exc = task.exception() if not task.cancelled() else None
            if task.cancelled():
                failures[index] = ProviderError("the call was cancelled", provider=labels[index])
            elif exc is None:
                return task.result()
            elif isinstance(exc, ProviderError | _RejectedError):
                failures[index] = exc
            else:
                raise exc
    for index, task in enumerate(tasks):
        if not task.done():
            failures[index] = _timed_out(labels[index], timeout)
    reasons = "; ".join(f"{labels[i]}: {_reason(failures[i], labels[i])}" for i in sorted(failures))
    retryable = all(isinstance(f, ProviderError) and f.retryable for f in failures.values())
    raise ProviderError(f"no valid response from any provider ({reasons})", retryable=retryable)


def _reason(failure: ProviderError | _RejectedError, label: str) -> str:
    if isinstance(failure, _RejectedError):
        return failure.reason
    return failure.message.removeprefix(f"{label}: ")
