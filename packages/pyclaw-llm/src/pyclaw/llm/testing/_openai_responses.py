"""The Responses API side of ``FakeOpenAIServer`` (``POST /v1/responses``): bodies and events."""

from __future__ import annotations

import time
from typing import cast

from pyclaw.llm._replies import arguments_text
from pyclaw.llm.testing._http import JSONObject, json_object, sse_json
from pyclaw.llm.testing._script import FakeReply, fragments, reply_usage, text_pieces
from pyclaw.meta import StopReason

_INCOMPLETE = {
    StopReason.MAX_TOKENS: "max_output_tokens",
    StopReason.CONTENT_FILTER: "content_filter",
}


def is_responses_request(request: JSONObject) -> bool:
    """Whether a body is a Responses API request (``input``, no ``messages``)."""
    return "input" in request and "messages" not in request


def responses_echo(request: JSONObject) -> str:
    """The text of the last user input (``input`` as a string, or the last user item)."""
    given = request.get("input")
    if isinstance(given, str):
        return given
    items = [json_object(i) for i in cast("list[object]", given if isinstance(given, list) else [])]
    users = [i for i in items if i is not None and i.get("role") == "user"]
    if not users:
        return ""
    content = users[-1].get("content")
    if isinstance(content, str):
        return content
    parts = [
        json_object(p) for p in cast("list[object]", content if isinstance(content, list) else [])
    ]
    return "".join(
        str(p.get("text", "")) for p in parts if p is not None and p.get("type") == "input_text"
    )


def _output(reply: FakeReply, number: int) -> list[JSONObject]:
    items: list[JSONObject] = []
    if reply.text:
        part: JSONObject = {"type": "output_text", "text": reply.text, "annotations": []}
        items.append(
            {
                "type": "message",
                "id": f"msg_fake{number}",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for index, call in enumerate(reply.tool_calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_fake{number}_{index}",
                "call_id": call.id,
                "name": call.name,
                "arguments": arguments_text(call),
                "status": "completed",
            }
        )
    return items


def _usage(reply: FakeReply, request: JSONObject) -> JSONObject:
    usage = reply_usage(reply, request, [arguments_text(c) for c in reply.tool_calls])
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def responses_body(reply: FakeReply, request: JSONObject, number: int) -> JSONObject:
    """A complete response object for ``reply``."""
    stop = reply.stop_reason
    reason = _INCOMPLETE.get(stop) if isinstance(stop, StopReason) else None
    return {
        "id": f"resp_fake{number}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if reason else "completed",
        "incomplete_details": {"reason": reason} if reason else None,
        "error": None,
        "model": reply.model or request.get("model"),
        "output": _output(reply, number),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": request.get("tools", []),
        "usage": _usage(reply, request),
    }


def responses_events(reply: FakeReply, request: JSONObject, number: int) -> list[bytes]:
    """The stream: ``response.created``, output items with their deltas, ``response.completed``."""
    final = responses_body(reply, request, number)
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: object) -> bytes:
        return sse_json({"type": kind, "sequence_number": next(sequence), **fields}, kind)

    started: JSONObject = {
        **final,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "incomplete_details": None,
    }
    events = [
        event("response.created", response=started),
        event("response.in_progress", response=started),
    ]
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = reply.text
            ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append(
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
            )
            events.append(
                event(
                    "response.content_part.added",
                    **ids,
                    part={"type": "output_text", "text": "", "annotations": []},
                )
            )
            events.extend(
                event("response.output_text.delta", **ids, delta=p, logprobs=[])
                for p in text_pieces(text)
            )
            events.append(event("response.output_text.done", **ids, text=text, logprobs=[]))
            events.append(event("response.content_part.done", **ids, part=item["content"][0]))
        else:
            ids = {"item_id": item["id"], "output_index": index}
            events.append(
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "arguments": ""},
                )
            )
            for piece in fragments(item["arguments"], reply.argument_chunk):
                if piece:
                    events.append(
                        event("response.function_call_arguments.delta", **ids, delta=piece)
                    )
            events.append(
                event("response.function_call_arguments.done", **ids, arguments=item["arguments"])
            )
        events.append(event("response.output_item.done", output_index=index, item=item))
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    events.append(event(kind, response=final))
    return events


def responses_error_event(message: str, error_type: str | None) -> bytes:
    """The Responses API's in-stream ``error`` event."""
    data = {
        "type": "error",
        "code": error_type or "server_error",
        "message": message,
        "param": None,
        "sequence_number": 0,
    }
    return sse_json(data, "error")
