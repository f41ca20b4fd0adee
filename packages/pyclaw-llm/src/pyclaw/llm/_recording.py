"""``RecordingProvider``: writes every LLM call to a session log, as the audit trail needs it.

It relies only on the ``pyclaw.meta`` contracts (any ``SessionLog`` and ``ArtifactStore``, or
anything with the same ``append``/``put``), so pyclaw-llm does not depend on pyclaw-session.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncGenerator, Awaitable, Sequence
from typing import Protocol

from pydantic import JsonValue

from pyclaw.llm._notices import NoticeCallback, ProviderNotice, RetryNotice, observe_notices
from pyclaw.llm._retry import close_stream
from pyclaw.llm._targets import Wrapper
from pyclaw.meta import (
    ArtifactRef,
    CustomEvent,
    ErrorInfo,
    EventPayload,
    ImagePart,
    LLMProvider,
    LLMRequest,
    LLMRequestEvent,
    LLMResponse,
    LLMResponseEvent,
    Message,
    ProviderError,
    PyClawError,
    ResponseDone,
    StreamEvent,
    new_id,
)


class EventSink(Protocol):
    """The part of ``SessionLog`` the recorder uses."""

    async def append(
        self, session_id: str, payload: EventPayload, *, run_id: str | None = None
    ) -> object: ...


class BlobSink(Protocol):
    """The part of ``ArtifactStore`` the recorder uses."""

    async def put(
        self, data: bytes, *, media_type: str = "application/octet-stream", name: str | None = None
    ) -> ArtifactRef: ...


def error_info(exc: BaseException) -> ErrorInfo:
    """How a failed call is recorded: a ``ProviderError`` keeps its status and retry data."""
    if isinstance(exc, ProviderError):
        details: dict[str, JsonValue] = {
            k: v
            for k, v in (("status", exc.status), ("retry_after", exc.retry_after))
            if v is not None
        }
        return exc.to_info(**details)
    if isinstance(exc, PyClawError):
        return exc.to_info()
    if isinstance(exc, asyncio.CancelledError):
        return ErrorInfo(type="Cancelled", message="the call was cancelled")
    if isinstance(exc, GeneratorExit):
        return ErrorInfo(
            type="StreamClosed", message="the caller closed the stream before it was complete"
        )
    return ErrorInfo(type=type(exc).__name__, message=str(exc) or type(exc).__name__)


class RecordingProvider(Wrapper):
    """An ``LLMProvider`` that records each call of ``inner`` in session ``session_id``.

    Before the call it appends an ``LLMRequestEvent``; after it an ``LLMResponseEvent`` with the
    response, or with an ``ErrorInfo`` when the call failed, was cancelled, or (streaming) was
    closed before its ``ResponseDone``; a stream's response is recorded once, at ``ResponseDone``.
    Both share a ``call_id``. Retries and fallbacks inside ``inner`` are recorded between them as
    ``CustomEvent``s named ``llm_retry``/``llm_fallback`` (``data.text``: "retrying in 2.0 s (429)").
    With ``artifacts``, inline images are stored there and recorded as ``ArtifactRef``s (the request
    sent to the model is unchanged). A failure to record propagates: an unrecorded call must not
    pass silently.
    """

    def __init__(
        self,
        inner: LLMProvider,
        log: EventSink,
        session_id: str,
        *,
        artifacts: BlobSink | None = None,
        run_id: str | None = None,
    ) -> None:
        self.inner = inner
        self.log = log
        self.session_id = session_id
        self.artifacts = artifacts
        self.run_id = run_id

    @property
    def name(self) -> str:
        return self.inner.name

    def wrapped(self) -> Sequence[LLMProvider]:
        return (self.inner,)

    async def _append(self, payload: EventPayload) -> None:
        await self.log.append(self.session_id, payload, run_id=self.run_id)

    async def _begin(self, request: LLMRequest) -> str:
        call_id = new_id("llm")
        recorded = request.model_copy(update={"messages": await self._stored(request.messages)})
        await self._append(LLMRequestEvent(call_id=call_id, provider=self.name, request=recorded))
        return call_id

    async def _finish(self, call_id: str, response: LLMResponse) -> None:
        (message,) = await self._stored((response.message,))
        recorded = response.model_copy(update={"message": message})
        await self._append(LLMResponseEvent(call_id=call_id, provider=self.name, response=recorded))

    async def _fail(self, call_id: str, exc: BaseException) -> None:
        event = LLMResponseEvent(call_id=call_id, provider=self.name, error=error_info(exc))
        # Shielded: a second cancellation must not lose the record of the first.
        await asyncio.shield(self._append(event))

    def _on_notice(self, call_id: str) -> NoticeCallback:
        def record(notice: ProviderNotice) -> Awaitable[None]:
            name = "llm_retry" if isinstance(notice, RetryNotice) else "llm_fallback"
            data: dict[str, JsonValue] = {
                "call_id": call_id,
                "text": notice.text,
                "status": notice.error.status,
                "error": notice.error.message,
            }
            if isinstance(notice, RetryNotice):
                data |= {"attempt": notice.attempt, "delay_s": notice.delay}
            else:
                data |= {"failed": notice.failed, "next": notice.next}
            return self._append(CustomEvent(name=name, data=data))

        return record

    async def complete(self, request: LLMRequest) -> LLMResponse:
        call_id = await self._begin(request)
        try:
            with observe_notices(self._on_notice(call_id)):
                response = await self.inner.complete(request)
        except BaseException as exc:
            await self._fail(call_id, exc)
            raise
        await self._finish(call_id, response)
        return response

    async def stream(self, request: LLMRequest) -> AsyncGenerator[StreamEvent, None]:
        call_id = await self._begin(request)
        events = self.inner.stream(request)
        finished = False
        try:
            while True:
                with observe_notices(self._on_notice(call_id)):  # set and reset between yields
                    try:
                        event = await anext(events)
                    except StopAsyncIteration:
                        break
                if isinstance(event, ResponseDone) and not finished:
                    await self._finish(call_id, event.response)
                    finished = True
                yield event
            if not finished:
                raise ProviderError(
                    f"{self.name}: the stream ended without a final response", provider=self.name
                )
        except BaseException as exc:
            if not finished:
                await self._fail(call_id, exc)
            raise
        finally:
            await close_stream(events)

    async def _stored(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """``messages`` with inline image data moved into the artifact store."""
        if self.artifacts is None:
            return messages
        out: list[Message] = []
        for message in messages:
            parts = list(message.parts)
            for i, part in enumerate(parts):
                if isinstance(part, ImagePart) and part.data_base64 is not None:
                    try:
                        data = base64.b64decode(part.data_base64, validate=True)
                    except (binascii.Error, ValueError):
                        continue  # not valid base64: keep it inline, as the model got it
                    ref = await self.artifacts.put(data, media_type=part.media_type)
                    parts[i] = part.model_copy(update={"data_base64": None, "artifact": ref})
            out.append(message.model_copy(update={"parts": tuple(parts)}))
        return tuple(out)
