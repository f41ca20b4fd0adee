"""``FakeCortensorRouter``: a Cortensor router's direct API on 127.0.0.1, scripted.

Routes (any of ``v1``/``v2``/``v3``): ``POST /api/vN/completions[/<session_id>]`` (an OpenAI
*text completion*, JSON or SSE), ``POST /api/vN/delegate``, ``POST /api/vN/validate``, and
``GET /api/v1/info`` and ``/api/v1/status``. Built from the client brief (CORTENSOR.md); where
Cortensor publishes no schema the fake picks one plausible shape.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any, cast

from pyclaw.llm.testing._cortensor_tasks import (
    FakeDelegation,
    FakeValidation,
    delegation_body,
    validation_body,
)
from pyclaw.llm.testing._http import Exchange, JSONObject, RecordedRequest, json_object, sse_json
from pyclaw.llm.testing._script import (
    FakeReply,
    Fault,
    ScriptItem,
    StatusFault,
    estimate,
    reply_usage,
    text_pieces,
)
from pyclaw.llm.testing._server import FakeServer
from pyclaw.meta import StopReason

_COMPLETIONS = re.compile(r"^/api/v[123]/completions(?:/([^/?]+))?/?$")
_TASK = re.compile(r"^/api/v[123]/(delegate|validate)/?$")
_META = re.compile(r"^/api/v1/(info|status)/?$")
_LAST_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}

DelegationItem = FakeDelegation | Fault
ValidationItem = FakeValidation | Fault


class FakeCortensorRouter(FakeServer):
    """A Cortensor router on 127.0.0.1 (a free port), in a background thread.

    ``/completions`` answers from the script queue (text, ``FakeReply`` or a fault; echoing the
    last user turn of the prompt when empty). ``/delegate`` answers from ``add_delegation``'s
    queue (``FakeDelegation`` or a fault; every replica echoes the objective when empty) and
    ``/validate`` from ``add_validation``'s (``FakeValidation`` or a fault; ``validator``, a
    function of the request body, or ``VALID`` when empty). With ``api_key`` set, requests
    without ``Authorization: Bearer <api_key>`` get 401. With ``envelope`` every JSON answer is
    wrapped in the hosted gateway's envelope ``{"request_id", "status": "ok"|"failed", "model",
    "router_pool", "data", "error"}``. Every request is kept in ``requests``.
    """

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        api_key: str | None = None,
        envelope: bool = False,
        validator: Callable[[JSONObject], FakeValidation] | None = None,
    ) -> None:
        super().__init__(script, api_key=api_key)
        self.envelope = envelope
        self.validator = validator
        self._delegations: deque[DelegationItem] = deque()
        self._validations: deque[ValidationItem] = deque()
        self.info = {
            "name": "fake-router",
            "version": "fake-1.0",
            "address": "0xfake0000000000000000000000000000000000",
            "ip_address": "127.0.0.1",
            "active_sessions": 2,
            "total_sessions": 5,
            "node_stats": {"dedicated_count": 1, "ephemeral_count": 3, "total_count": 4},
        }
        self.status = {
            "active_sessions": 2,
            "connected_miners": 4,
            "cpu_usage": 12.5,
            "memory_usage": 40.0,
            "uptime": 3600,
        }

    @property
    def base_url(self) -> str:
        """The router root to configure (``http://127.0.0.1:PORT``)."""
        return self.url

    def add_delegation(self, *items: DelegationItem | Iterable[str]) -> None:
        """Queue answers for ``/delegate``: a ``FakeDelegation``, a list of replica answers, or a fault."""
        steps = [
            i if isinstance(i, FakeDelegation | Fault) else FakeDelegation(tuple(i)) for i in items
        ]
        with self._lock:
            self._delegations.extend(steps)

    def add_validation(self, *items: ValidationItem) -> None:
        """Queue answers for ``/validate``."""
        with self._lock:
            self._validations.extend(items)

    # --- FakeServer's protocol hooks: /completions -------------------------------------------------

    def handles(self, path: str) -> bool:
        return _COMPLETIONS.match(path.split("?", maxsplit=1)[0]) is not None

    def request_fault(self, request: RecordedRequest) -> StatusFault | None:
        if self.api_key is not None:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer "):
                return StatusFault(401, "Invalid Authorization header format")
            if auth.removeprefix("Bearer ").strip() != self.api_key:
                return StatusFault(401, "Invalid API key")
        if request.method == "GET":
            return None
        body = json_object(request.body)
        if body is None:
            return StatusFault(400, "Request body must be a JSON object")
        if self.handles(request.path) and not isinstance(body.get("prompt"), str):
            return StatusFault(422, "prompt is required")
        return None

    def error_body(self, status: int, message: str, error_type: str | None) -> JSONObject:
        code = error_type or _CODES.get(status, "error")
        if self.envelope:
            return self._envelope(None, {"code": code, "message": message})
        return {"message": message, "code": code}

    def reply_body(self, reply: FakeReply, request: JSONObject) -> JSONObject:
        usage = reply_usage(reply, None, ())
        prompt_tokens = estimate(len(str(request.get("prompt", ""))))
        body: JSONObject = {
            "id": f"cmpl-{self.next_number()}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": reply.model or "fake-miner-model",
            "choices": [
                {"text": reply.text, "index": 0, "logprobs": None, "finish_reason": _finish(reply)}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": prompt_tokens + usage.output_tokens,
            },
        }
        return self._envelope(body) if self.envelope else body

    def reply_events(self, reply: FakeReply, request: JSONObject) -> list[bytes]:
        del request
        ident = f"cmpl-{self.next_number()}"
        base: JSONObject = {"id": ident, "object": "text_completion", "model": "fake-miner-model"}
        events = [
            sse_json({**base, "choices": [{"text": piece, "index": 0, "finish_reason": None}]})
            for piece in text_pieces(reply.text)
        ]
        final = {**base, "choices": [{"text": "", "index": 0, "finish_reason": _finish(reply)}]}
        if reply.usage is not None:
            final["usage"] = {
                "prompt_tokens": reply.usage.input_tokens,
                "completion_tokens": reply.usage.output_tokens,
                "total_tokens": reply.usage.total_tokens,
            }
        return [*events, sse_json(final), b"data: [DONE]\n\n"]

    def error_event(self, message: str, error_type: str | None, request: JSONObject) -> bytes:
        del request
        return sse_json({"error": {"message": message, "code": error_type or "miner_error"}})

    def echo_text(self, request: JSONObject) -> str:
        prompt = str(request.get("prompt", ""))
        turns = _LAST_USER.findall(prompt)
        return turns[-1] if turns else prompt

    # --- the other routes --------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, recorded: RecordedRequest) -> None:
        path = recorded.path.split("?")[0]
        task, meta = _TASK.match(path), _META.match(path)
        if (task is None or recorded.method != "POST") and (
            meta is None or recorded.method != "GET"
        ):
            super()._answer(handler, recorded)
            return
        out = Exchange(
            handler,
            stopping=self._stopping,
            on_disconnect=self._record_disconnect,
            headers=self.response_headers(),
        )
        fault = self.request_fault(recorded)
        if fault is not None:
            self._status(out, fault)
        elif meta is not None:
            data = self.info if meta.group(1) == "info" else self.status
            out.send_json(200, self._envelope(dict(data)) if self.envelope else data)
        elif task is not None:
            self._task(out, task.group(1), cast("JSONObject", recorded.body))

    def _task(self, out: Exchange, route: str, body: JSONObject) -> None:
        step: FakeDelegation | FakeValidation | Fault
        with self._lock:
            queue: deque[Any] = self._delegations if route == "delegate" else self._validations
            step = queue.popleft() if queue else self._default(route, body)
        if not isinstance(step, FakeDelegation | FakeValidation):
            self._fault(out, step, body, stream=False)
            return
        if step.delay and not out.wait(step.delay):
            return
        if isinstance(step, FakeDelegation):
            data = delegation_body(step, body, f"dlg-{self.next_number()}")
        else:
            data = validation_body(step)
        out.send_json(200, self._envelope(data) if self.envelope else data)

    def _default(self, route: str, body: JSONObject) -> FakeDelegation | FakeValidation:
        if route == "delegate":
            return FakeDelegation()
        return self.validator(body) if self.validator is not None else FakeValidation()

    def _envelope(self, data: JSONObject | None, error: JSONObject | None = None) -> JSONObject:
        return {
            "request_id": f"gw-{self.next_number()}",
            "status": "failed" if error is not None else "ok",
            "model": None if data is None else data.get("model"),
            "router_pool": "fake-pool",
            "data": data,
            "error": error,
        }


def _finish(reply: FakeReply) -> str:
    return "length" if reply.stop_reason is StopReason.MAX_TOKENS else "stop"
