"""``FakeOpenAIServer``: OpenAI's Chat Completions API (JSON and SSE) on 127.0.0.1, scripted."""

from __future__ import annotations

import time
from typing import Any

from pyclaw.llm._replies import arguments_text
from pyclaw.llm.testing._http import JSONObject, RecordedRequest, json_object, sse_event, sse_json
from pyclaw.llm.testing._openai_responses import (
    is_responses_request,
    responses_body,
    responses_echo,
    responses_error_event,
    responses_events,
)
from pyclaw.llm.testing._script import (
    FakeReply,
    StatusFault,
    fragments,
    last_user_text,
    reply_usage,
    text_pieces,
)
from pyclaw.llm.testing._server import FakeServer
from pyclaw.meta import StopReason, ToolCall

FINISH_REASONS = {
    StopReason.END_TURN: "stop",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.MAX_TOKENS: "length",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.CONTENT_FILTER: "content_filter",
    StopReason.ERROR: "stop",
}
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to sample from this model."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    408: ("timeout", None, "Request timed out."),
    409: ("conflict", None, "Conflict: please retry."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


class FakeOpenAIServer(FakeServer):
    """OpenAI's ``POST /v1/chat/completions`` on 127.0.0.1: JSON answers, and SSE streams
    (``data: {chunk}`` … ``data: [DONE]``) with tool-call argument fragments and, when asked via
    ``stream_options.include_usage``, a final usage chunk. Also ``POST /v1/responses`` (the
    Responses API): a response object with ``message`` and ``function_call`` output items, or its
    event stream (``response.created`` … ``response.output_text.delta``,
    ``response.function_call_arguments.delta`` … ``response.completed``; ``response.incomplete``
    for a ``MAX_TOKENS`` stop). The same scripted replies and faults serve both endpoints.

    Give ``base_url`` to the ``openai`` SDK or to ``OpenAICompatibleProvider``. With ``api_key``
    set, other keys get OpenAI's 401 (which shows the key masked, as OpenAI does). Requests
    without a ``model`` or ``messages`` get OpenAI's 400.
    """

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def handles(self, path: str) -> bool:
        return _route(path) is not None

    def request_fault(self, request: RecordedRequest) -> StatusFault | None:
        if self.api_key is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if given != self.api_key:
                masked = f"{given[:3]}***{given[-4:]}" if len(given) > 8 else "***"
                return StatusFault(401, f"Incorrect API key provided: {masked}.")
        body = json_object(request.body)
        if body is None:
            return StatusFault(400, "We could not parse the JSON body of your request.")
        if not body.get("model"):
            return StatusFault(400, "you must provide a model parameter")
        if _route(request.path) == "responses":
            given: object = body.get("input")
            valid = isinstance(given, str | list) and given not in ("", [])
            problem = "Missing required parameter: 'input'."
        else:
            messages: object = body.get("messages")
            valid = isinstance(messages, list) and messages != []
            problem = "'messages' must be a non-empty array"
        return None if valid else StatusFault(400, problem)

    def error_body(self, status: int, message: str, error_type: str | None) -> JSONObject:
        fallback = (
            "server_error" if status >= 500 else "invalid_request_error",
            None,
            f"HTTP {status}",
        )
        kind, code, default = _ERRORS.get(status, fallback)
        return {
            "error": {
                "message": message or default,
                "type": error_type or kind,
                "param": None,
                "code": code,
            }
        }

    def error_event(self, message: str, error_type: str | None, request: JSONObject) -> bytes:
        if is_responses_request(request):
            return responses_error_event(message, error_type)
        error = {
            "message": message,
            "type": error_type or "server_error",
            "param": None,
            "code": None,
        }
        return sse_json({"error": error})

    def echo_text(self, request: JSONObject) -> str:
        if is_responses_request(request):
            return responses_echo(request)
        return last_user_text(request.get("messages"))

    def reply_body(self, reply: FakeReply, request: JSONObject) -> JSONObject:
        if is_responses_request(request):
            return responses_body(reply, request, self.next_number())
        calls = [_call_json(call) for call in reply.tool_calls]
        message: JSONObject = {
            "role": "assistant",
            "content": reply.text if reply.text or not calls else None,
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = calls
        return {
            **self._envelope(reply, request, "chat.completion"),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(reply)}
            ],
            "usage": _usage_json(reply, request),
            "service_tier": "default",
        }

    def reply_events(self, reply: FakeReply, request: JSONObject) -> list[bytes]:
        if is_responses_request(request):
            return responses_events(reply, request, self.next_number())
        base = self._envelope(reply, request, "chat.completion.chunk")
        options = json_object(request.get("stream_options")) or {}
        with_usage = options.get("include_usage") is True

        def chunk(delta: JSONObject, finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            data: JSONObject = {**base, "choices": [choice]}
            if with_usage:
                data["usage"] = None
            return sse_json(data)

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        events.extend(chunk({"content": piece}) for piece in text_pieces(reply.text))
        for index, call in enumerate(reply.tool_calls):
            head = {"index": index, "id": call.id, "type": "function"}
            opening = {**head, "function": {"name": call.name, "arguments": ""}}
            events.append(chunk({"tool_calls": [opening]}))
            for piece in fragments(arguments_text(call), reply.argument_chunk):
                if piece:
                    fragment = {"index": index, "function": {"arguments": piece}}
                    events.append(chunk({"tool_calls": [fragment]}))
        events.append(chunk({}, _finish(reply)))
        if with_usage:
            events.append(sse_json({**base, "choices": [], "usage": _usage_json(reply, request)}))
        events.append(sse_event("[DONE]"))
        return events

    def _envelope(self, reply: FakeReply, request: JSONObject, kind: str) -> JSONObject:
        return {
            "id": f"chatcmpl-fake{self.next_number()}",
            "object": kind,
            "created": int(time.time()),
            "model": reply.model or request.get("model"),
            "system_fingerprint": "fp_fake",
        }


def _route(path: str) -> str | None:
    """``"chat"`` or ``"responses"`` for the endpoints served, else ``None``."""
    clean = path.split("?", 1)[0].rstrip("/").removeprefix("/v1")
    return {"/chat/completions": "chat", "/responses": "responses"}.get(clean)


def _call_json(call: ToolCall) -> JSONObject:
    function = {"name": call.name, "arguments": arguments_text(call)}
    return {"id": call.id, "type": "function", "function": function}


def _finish(reply: FakeReply) -> str:
    if isinstance(reply.stop_reason, StopReason):
        return FINISH_REASONS[reply.stop_reason]
    if reply.stop_reason is not None:
        return reply.stop_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _usage_json(reply: FakeReply, request: Any) -> JSONObject:
    usage = reply_usage(reply, request, [arguments_text(c) for c in reply.tool_calls])
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
