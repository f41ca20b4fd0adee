"""``FakeAnthropicServer``: Anthropic's Messages API (JSON and SSE) on 127.0.0.1, scripted."""

from __future__ import annotations

import json
from typing import Any

from pyclaw.llm._replies import arguments_text
from pyclaw.llm.testing._http import JSONObject, RecordedRequest, json_object, sse_json
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

STOP_REASONS = {
    StopReason.END_TURN: "end_turn",
    StopReason.TOOL_USE: "tool_use",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.ERROR: "end_turn",
}
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


class FakeAnthropicServer(FakeServer):
    """Anthropic's ``POST /v1/messages`` on 127.0.0.1: JSON answers with ``text`` and ``tool_use``
    blocks, and SSE streams (``message_start``, ``ping``, ``content_block_start``/``delta``
    (``text_delta``, ``input_json_delta``)/``stop``, ``message_delta`` with ``stop_reason`` and
    usage, ``message_stop``). Errors use Anthropic's JSON (``{"type": "error", "error": {"type":
    "rate_limit_error", "message": ...}}``); an in-stream error is ``event: error``.

    Give ``base_url`` (the root URL: the SDK adds ``/v1/messages``) to the ``anthropic`` SDK. With
    ``api_key`` set, requests carrying another key (as ``x-api-key`` or a bearer token) get a 401. Requests without ``model``,
    ``max_tokens`` or ``messages`` get Anthropic's 400. A scripted tool call whose
    ``raw_arguments`` is not a JSON object streams that text as is; in a JSON answer its ``input``
    is that raw string (the real API never does this, but a client must survive it).
    """

    stream_error_status = 529

    @property
    def base_url(self) -> str:
        return self.url

    def handles(self, path: str) -> bool:
        return path.split("?", 1)[0].rstrip("/") == "/v1/messages"

    def response_headers(self) -> dict[str, str]:
        return {"request-id": f"req_fake{self.next_number()}"}

    def request_fault(self, request: RecordedRequest) -> StatusFault | None:
        if self.api_key is not None:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if self.api_key not in (request.headers.get("x-api-key"), bearer):
                return StatusFault(401)
        body = json_object(request.body)
        if body is None:
            return StatusFault(400, "There was an issue with your request body: invalid JSON.")
        for required in ("model", "max_tokens", "messages"):
            if required not in body:
                return StatusFault(400, f"{required}: Field required")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return StatusFault(400, "messages: at least one message is required")
        return None

    def error_body(self, status: int, message: str, error_type: str | None) -> JSONObject:
        kind, default = _ERRORS.get(status, ("api_error", f"HTTP {status}"))
        error = {"type": error_type or kind, "message": message or default}
        return {"type": "error", "error": error, "request_id": f"req_fake{self.next_number()}"}

    def error_event(self, message: str, error_type: str | None, request: JSONObject) -> bytes:
        error = {"type": error_type or "overloaded_error", "message": message}
        return sse_json({"type": "error", "error": error}, "error")

    def echo_text(self, request: JSONObject) -> str:
        return last_user_text(request.get("messages"))

    def reply_body(self, reply: FakeReply, request: JSONObject) -> JSONObject:
        content: list[JSONObject] = [{"type": "text", "text": reply.text}] if reply.text else []
        content.extend(_tool_use(call, _input(call)) for call in reply.tool_calls)
        return {
            **self._message(reply, request),
            "content": content,
            "stop_reason": _stop(reply),
            "usage": _usage_json(reply, request),
        }

    def reply_events(self, reply: FakeReply, request: JSONObject) -> list[bytes]:
        usage = _usage_json(reply, request)
        start: JSONObject = {**self._message(reply, request), "stop_reason": None}
        start["content"] = []
        start["usage"] = {**usage, "output_tokens": 1}
        events = [
            sse_json({"type": "message_start", "message": start}, "message_start"),
            sse_json({"type": "ping"}, "ping"),
        ]
        blocks: list[tuple[JSONObject, list[JSONObject]]] = []
        if reply.text:
            deltas = [{"type": "text_delta", "text": p} for p in text_pieces(reply.text)]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for call in reply.tool_calls:
            pieces = fragments(arguments_text(call), reply.argument_chunk)
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces if p]
            blocks.append((_tool_use(call, {}), deltas))
        for index, (block, deltas) in enumerate(blocks):
            events.append(_event("content_block_start", index=index, content_block=block))
            events.extend(_event("content_block_delta", index=index, delta=d) for d in deltas)
            events.append(_event("content_block_stop", index=index))
        delta = {"stop_reason": _stop(reply), "stop_sequence": None}
        events.append(_event("message_delta", delta=delta, usage=usage))
        events.append(_event("message_stop"))
        return events

    def _message(self, reply: FakeReply, request: JSONObject) -> JSONObject:
        return {
            "id": f"msg_fake{self.next_number()}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or request.get("model"),
            "stop_sequence": None,
        }


def _event(kind: str, **fields: object) -> bytes:
    return sse_json({"type": kind, **fields}, kind)


def _tool_use(call: ToolCall, tool_input: object) -> JSONObject:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input}


def _input(call: ToolCall) -> object:
    if call.raw_arguments is None:
        return call.arguments
    try:
        value = json.loads(call.raw_arguments)
    except ValueError:
        return call.raw_arguments
    return value if isinstance(value, dict) else call.raw_arguments  # pyright: ignore[reportUnknownVariableType] - decoded JSON


def _stop(reply: FakeReply) -> str:
    if isinstance(reply.stop_reason, StopReason):
        return STOP_REASONS[reply.stop_reason]
    if reply.stop_reason is not None:
        return reply.stop_reason
    return "tool_use" if reply.tool_calls else "end_turn"


def _usage_json(reply: FakeReply, request: Any) -> JSONObject:
    usage = reply_usage(reply, request, [arguments_text(c) for c in reply.tool_calls])
    cached = min(usage.cached_tokens, usage.input_tokens)
    return {
        "input_tokens": usage.input_tokens - cached,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "service_tier": "standard",
    }
