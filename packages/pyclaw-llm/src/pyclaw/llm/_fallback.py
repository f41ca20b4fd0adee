"""``FallbackProvider``: asks the next provider of a chain when one is unavailable.

What counts as "unavailable" is the policy decision of this module. By default the chain moves on
only for a retryable ``ProviderError`` (429, 5xx, connection errors, timeouts), which reaches it
after the failing provider's own ``RetryingProvider`` gave up. A non-retryable error (400 "context
too long", 401 bad key, 404 unknown model) stops the chain and is raised as is: a request one
provider rejects as invalid is usually invalid for the next one too, paying for it twice hides the
real problem, and a bad key is a configuration error to fix, not to route around. Callers who want
otherwise (e.g. fall back to a model with a larger context window) pass ``fall_back_on``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence

from pyclaw.llm._notices import FallbackNotice, NoticeCallback, error_reason, publish
from pyclaw.llm._retry import close_stream
from pyclaw.llm._targets import Target, Wrapper, request_for, split_target, target_label
from pyclaw.meta import LLMProvider, LLMRequest, LLMResponse, ProviderError, StreamEvent, UsageError

FallbackPredicate = Callable[[ProviderError], bool]


def is_unavailable(error: ProviderError) -> bool:
    """The default ``fall_back_on``: the provider could not answer now (``error.retryable``)."""
    return error.retryable


def any_provider_error(error: ProviderError) -> bool:
    """A ``fall_back_on`` that moves on after every ``ProviderError``, including 4xx ones."""
    return True


class FallbackProvider(Wrapper):
    """An ``LLMProvider`` that tries its targets in order until one answers.

    A target is a provider or ``(provider, model)``; the second form sends the request with that
    model name, so a chain can cross vendors. The answer's ``LLMResponse.provider`` says which
    provider gave it. Each move to the next target is published as a ``FallbackNotice``. When every
    target fails, the ``ProviderError`` raised lists each failure (``retryable`` only if all were).
    A stream falls back only while it failed before its first event.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        name: str | None = None,
        fall_back_on: FallbackPredicate = is_unavailable,
        on_fallback: NoticeCallback | None = None,
    ) -> None:
        if not targets:
            raise UsageError("FallbackProvider needs at least one provider")
        self.targets = tuple(targets)
        self._labels = [target_label(t) for t in self.targets]
        self._name = name or f"fallback({', '.join(self._labels)})"
        self._fall_back_on = fall_back_on
        self._on_fallback = on_fallback

    @property
    def name(self) -> str:
        return self._name

    def wrapped(self) -> Sequence[LLMProvider]:
        return [split_target(t)[0] for t in self.targets]

    async def _next(self, index: int, error: ProviderError, failed: list[ProviderError]) -> None:
        """Record a failure and announce the move on, or raise when there is nowhere to go."""
        if not self._fall_back_on(error):
            raise error
        failed.append(error)
        if index + 1 == len(self.targets):
            raise self._all_failed(failed)
        notice = FallbackNotice(self._labels[index], self._labels[index + 1], error)
        await publish(notice, self._on_fallback)

    def _all_failed(self, failed: list[ProviderError]) -> ProviderError:
        reasons = "; ".join(
            f"{label}: {error_reason(e)}" for label, e in zip(self._labels, failed, strict=True)
        )
        error = ProviderError(
            f"{self.name}: every provider failed ({reasons})",
            retryable=all(e.retryable for e in failed),
            status=failed[-1].status,
            provider=self.name,
        )
        error.__cause__ = failed[-1]
        return error

    async def complete(self, request: LLMRequest) -> LLMResponse:
        failed: list[ProviderError] = []
        for index, target in enumerate(self.targets):
            provider, sent = request_for(target, request)
            try:
                return await provider.complete(sent)
            except ProviderError as error:
                await self._next(index, error, failed)
        raise AssertionError("unreachable: the last failure raises")  # pragma: no cover

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        failed: list[ProviderError] = []
        for index, target in enumerate(self.targets):
            provider, sent = request_for(target, request)
            events = provider.stream(sent)
            try:
                first = await anext(events)
            except StopAsyncIteration:
                return
            except ProviderError as error:
                await close_stream(events)
                await self._next(index, error, failed)
                continue
            except BaseException:
                await close_stream(events)
                raise
            try:
                yield first
                async for event in events:
                    yield event
            finally:
                await close_stream(events)
            return
