"""The Bot API methods the fake implements, with Telegram's own error texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from pyclaw.controlplane_telegram.testing._html import HtmlParseError, parse_html
from pyclaw.controlplane_telegram.testing._http import ApiError
from pyclaw.controlplane_telegram.testing._state import (
    CONFLICT_POLL,
    CONFLICT_WEBHOOK,
    FakeState,
    SentMessage,
)

LIMIT = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def dispatch(state: FakeState, token: str, method: str, params: dict[str, Any]) -> Any:
    """Answer one call (recording it first); raises ``ApiError`` like Telegram would."""
    if token != state.token:
        raise ApiError(401, "Unauthorized")
    handler = _METHODS.get(method.lower())
    with state.cond:
        state.record(method, params)
        fault = state.take_fault(method)
    if fault is not None:
        raise ApiError(fault.code, fault.description, retry_after=fault.retry_after)
    if handler is None:
        raise ApiError(404, "Not Found")
    if method.lower() == "getupdates":
        return _get_updates(state, params)
    hook = state.before_call
    if hook is not None and hook(method, params):
        raise ApiError(502, "Bad Gateway")  # dropped: the call never took effect
    with state.cond:
        return handler(state, params)


def _int(params: dict[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None:
        raise ApiError(400, f"Bad Request: {name} is required")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _text(params: dict[str, Any]) -> tuple[str, list[dict[str, object]], str | None]:
    raw = str(params.get("text", ""))
    mode = str(params.get("parse_mode") or "").lower()
    if mode == "html":
        try:
            text, entities = parse_html(raw)
        except HtmlParseError as exc:
            raise ApiError(400, str(exc)) from None
        html: str | None = raw
    elif mode:
        text, entities, html = raw, [], None  # Markdown modes are not checked by the fake
    else:
        text, html = raw, None
        entities = cast("list[dict[str, object]]", params.get("entities") or [])
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 > LIMIT:
        raise ApiError(400, "Bad Request: message is too long")
    return text, entities, html


def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return None
    body = cast("dict[str, Any]", markup)
    rows = cast("list[list[dict[str, Any]]]", body.get("inline_keyboard") or [])
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return body


def message_dict(state: FakeState, message: SentMessage) -> dict[str, Any]:
    """A sent message as the Bot API returns it."""
    body: dict[str, Any] = {
        "message_id": message.message_id,
        "date": message.date,
        "chat": {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "group"},
        "from": state.bot_user(),
        "text": message.text,
    }
    if message.entities:
        body["entities"] = message.entities
    if message.reply_markup:
        body["reply_markup"] = message.reply_markup
    if message.edits:
        body["edit_date"] = int(time.time())
    return body


def _message(state: FakeState, params: dict[str, Any], verb: str) -> SentMessage:
    key = (_int(params, "chat_id"), _int(params, "message_id"))
    message = state.messages.get(key)
    if message is None:
        raise ApiError(400, f"Bad Request: message to {verb} not found")
    return message


def _send_message(state: FakeState, params: dict[str, Any]) -> Any:
    chat_id = _int(params, "chat_id")
    text, entities, html = _text(params)
    reply = cast("dict[str, Any]", params.get("reply_parameters") or {})
    reply_to = int(reply["message_id"]) if "message_id" in reply else None
    state.next_message_id += 1
    message = SentMessage(
        chat_id,
        state.next_message_id,
        text,
        entities,
        html,
        _markup(params),
        reply_to,
        int(time.time()),
    )
    state.messages[(chat_id, message.message_id)] = message
    return message_dict(state, message)


def _edit_text(state: FakeState, params: dict[str, Any]) -> Any:
    message = _message(state, params, "edit")
    text, entities, html = _text(params)
    markup = _markup(params)
    if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
        raise ApiError(400, NOT_MODIFIED)
    message.text, message.entities, message.html, message.reply_markup = (
        text,
        entities,
        html,
        markup,
    )
    message.edits += 1
    return message_dict(state, message)


def _edit_markup(state: FakeState, params: dict[str, Any]) -> Any:
    message = _message(state, params, "edit")
    markup = _markup(params)
    if markup == message.reply_markup:
        raise ApiError(400, NOT_MODIFIED)
    message.reply_markup = markup
    message.edits += 1
    return message_dict(state, message)


def _answer_callback(state: FakeState, params: dict[str, Any]) -> Any:
    query_id = str(params.get("callback_query_id", ""))
    if query_id not in state.queries or query_id in state.answered:
        raise ApiError(
            400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
    state.answered[query_id] = params
    return True


def _reaction(state: FakeState, params: dict[str, Any]) -> Any:
    message = state.messages.get((_int(params, "chat_id"), _int(params, "message_id")))
    reaction = cast("list[dict[str, Any]]", params.get("reaction") or [])
    if message is not None:
        message.reactions = reaction
    return True


def _webhook_info(state: FakeState, params: dict[str, Any]) -> Any:
    return {
        "url": state.webhook_url or "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }


def _set_webhook(state: FakeState, params: dict[str, Any]) -> Any:
    state.webhook_url = str(params.get("url") or "") or None
    return True


def _delete_webhook(state: FakeState, params: dict[str, Any]) -> Any:
    state.webhook_url = None
    if params.get("drop_pending_updates"):
        state.updates.clear()
    return True


def _update_kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _get_updates(state: FakeState, params: dict[str, Any]) -> Any:
    """Long polling: wait up to ``timeout`` s for updates at or after ``offset``."""
    offset = _int(params, "offset", 0)
    limit = max(1, min(100, _int(params, "limit", 100)))
    timeout = max(0, _int(params, "timeout", 0))
    deadline = time.monotonic() + timeout
    with state.cond:
        if state.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if isinstance(params.get("allowed_updates"), list):
            state.allowed_updates = [str(kind) for kind in params["allowed_updates"]]
        if offset:
            state.updates = [u for u in state.updates if int(u["update_id"]) >= offset]
        state.poll_generation += 1
        generation = state.poll_generation
        state.cond.notify_all()  # an older poll still waiting ends with 409
        while True:
            wanted = state.allowed_updates
            ready = [u for u in state.updates if not wanted or _update_kind(u) in wanted]
            if ready or state.closing:
                return ready[:limit]
            if state.poll_generation != generation:
                raise ApiError(409, CONFLICT_POLL)
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            state.cond.wait(left)


_METHODS: dict[str, Callable[[FakeState, dict[str, Any]], Any]] = {
    "getme": lambda state, _: state.bot_user(),
    "getupdates": _get_updates,
    "sendmessage": _send_message,
    "editmessagetext": _edit_text,
    "editmessagereplymarkup": _edit_markup,
    "sendchataction": lambda _state, _params: True,
    "answercallbackquery": _answer_callback,
    "setmessagereaction": _reaction,
    "setmycommands": lambda _state, _params: True,
    "deletemessage": lambda _state, _params: True,
    "getwebhookinfo": _webhook_info,
    "setwebhook": _set_webhook,
    "deletewebhook": _delete_webhook,
}
