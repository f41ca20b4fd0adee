"""``/completions``: the request body for an ``LLMRequest``, and the answer (JSON or streamed
chunks, an OpenAI *text completion*) back as an ``LLMResponse``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyclaw.llm._chat_format import as_list, as_object, build_response, parse_usage
from pyclaw.llm._http_errors import error_detail, malformed_error, one_line
from pyclaw.llm._pricing import ModelPrice
from pyclaw.llm.cortensor._template import ChatTemplate, StopCutter, render_prompt, stop_markers
from pyclaw.llm.cortensor._wire import first_text, text_of
from pyclaw.meta import (
    LLMRequest,
    LLMResponse,
    ProviderError,
    ResponseDone,
    StreamEvent,
    TextDelta,
    Usage,
    new_id,
)

DEFAULT_MAX_TOKENS = 1024


def completion_body(
    request: LLMRequest,
    *,
    template: ChatTemplate,
    timeout: float,
    stream: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/vN/completions[/<session_id>]`` (the session goes in the
    path). ``timeout`` is the router's own task timeout, in whole seconds; ``defaults`` adds
    sampling keys (``top_p``, ``top_k``…) the request does not set."""
    body: dict[str, Any] = {
        "prompt": render_prompt(request, template),
        "prompt_type": 1,
        "prompt_template": "",
        "stream": stream,
        "timeout": max(1, int(timeout)),
        "client_reference": new_id("pyclaw"),
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        **(defaults or {}),
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


def _choice_text(body: Mapping[str, Any]) -> tuple[str, object] | None:
    """``(text, finish_reason)`` of the first choice with text (one choice per miner is possible)."""
    for item in as_list(body.get("choices")):
        choice = as_object(item)
        if choice is None:
            continue
        message = as_object(choice.get("message")) or {}
        text = text_of(choice.get("text")) or text_of(message.get("content"))
        if text or choice.get("finish_reason") is not None:
            return text, choice.get("finish_reason")
    text = first_text(body, "text", "output", "result", "answer")
    return (text, body.get("finish_reason")) if text else None


def parse_completion(
    data: object,
    *,
    provider: str,
    model: str,
    markers: Sequence[str],
    latency_ms: float | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> LLMResponse:
    """The ``LLMResponse`` for a (decoded, unwrapped) completion body, cut at ``markers``."""
    body = as_object(data)
    if body is None:
        raise malformed_error(provider, "the completion is not a JSON object")
    found = _choice_text(body)
    if found is None:
        raise malformed_error(provider, "the completion has no choices and no text")
    text, finish = found
    return build_response(
        provider=provider,
        model=text_of(body.get("model")) or model,
        text=_cut(text, markers),
        raw_calls=(),
        finish_reason=finish,
        usage=parse_usage(body.get("usage")),
        response_id=text_of(body.get("id")) or text_of(body.get("task_id")) or None,
        latency_ms=latency_ms,
        prices=prices,
    )


def _cut(text: str, markers: Sequence[str]) -> str:
    cutter = StopCutter(markers)
    return (cutter.feed(text) + cutter.flush()).strip()


class CompletionStream:
    """Streamed completion chunks → ``TextDelta``s, then the final ``ResponseDone``.

    Only one stream is followed: the first chunk's ``task_id``/``id`` (several miners' streams may
    interleave). Text after a stop marker is dropped. ``finish`` raises a retryable
    ``ProviderError`` when the stream ended before ``[DONE]`` or a ``finish_reason``.
    """

    def __init__(
        self,
        *,
        provider: str,
        model: str,
        request: LLMRequest,
        template: ChatTemplate,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.prices = prices
        self.done = False
        self._cutter = StopCutter(stop_markers(template, request.stop))
        self._parts: list[str] = []
        self._key: str | None = None
        self._finish: object = None
        self._usage = Usage()
        self._id: str | None = None
        self._started = False
        self._space = ""

    def feed(self, chunk: object) -> list[StreamEvent]:
        data = as_object(chunk)
        if data is None:
            raise malformed_error(self.provider, "a stream event is not a JSON object")
        if "error" in data and not data.get("choices"):
            _, message = error_detail(data)
            raise ProviderError(
                f"{self.provider}: the router reported an error mid-stream: {one_line(message)}",
                retryable=True,
                provider=self.provider,
            )
        key = text_of(data.get("task_id")) or text_of(data.get("id")) or None
        if self._key is None:
            self._key = key
        elif key is not None and key != self._key:
            return []  # another miner's interleaved stream
        self._id = self._id or key
        if data.get("model") and isinstance(data.get("model"), str):
            self.model = data["model"]
        if as_object(data.get("usage")) is not None:
            self._usage = parse_usage(data.get("usage"))
        found = _choice_text(data)
        if found is None:
            return []
        text, finish = found
        if finish is not None:
            self._finish = finish
        return self._emit(self._cutter.feed(text))

    def _emit(self, text: str) -> list[StreamEvent]:
        """Deltas without the answer's leading and trailing whitespace (held back until more
        text follows), so they add up to exactly the final text, as ``complete`` gives it."""
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        text = self._space + text
        body = text.rstrip()
        self._space = text[len(body) :]
        if not body:
            return []
        self._parts.append(body)
        return [TextDelta(text=body)]

    def finish(self, *, latency_ms: float | None) -> list[StreamEvent]:
        if not self.done and self._finish is None and not self._cutter.stopped:
            raise malformed_error(self.provider, "the stream ended before the answer was complete")
        events = self._emit(self._cutter.flush())
        text = "".join(self._parts)
        response = build_response(
            provider=self.provider,
            model=self.model,
            text=text,
            raw_calls=(),
            finish_reason=self._finish or "stop",
            usage=self._usage,
            response_id=self._id,
            latency_ms=latency_ms,
            prices=self.prices,
        )
        return [*events, ResponseDone(response=response)]
