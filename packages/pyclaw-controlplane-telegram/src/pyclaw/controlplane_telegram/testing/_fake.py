"""``FakeTelegramServer``: a Bot API on 127.0.0.1 that PTB talks to as if it were Telegram."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from pyclaw.controlplane_telegram.testing._http import make_server
from pyclaw.controlplane_telegram.testing._methods import dispatch, message_dict
from pyclaw.controlplane_telegram.testing._state import (
    CONFLICT_POLL,
    ApiCall,
    FakeState,
    Fault,
    SentMessage,
)

TEST_TOKEN = "123456:TEST-token-for-the-fake-server"  # noqa: S105 - a fake server's token


class FakeTelegramServer:
    """A stdlib HTTP server speaking the Bot API as PTB uses it, with Telegram's real errors.

    ``api_base_url`` goes into ``TelegramSettings``. Inject traffic with ``user_message``,
    ``press``, ``react``, ``inject`` and ``redeliver``; queue faults with ``fail``,
    ``rate_limit``, ``conflict`` and ``server_errors``; inspect ``calls``/``messages``. Sent text
    is checked like Telegram does: HTML must parse (else "can't parse entities") and be at most
    4096 UTF-16 units once parsed (else "message is too long"). A second concurrent
    ``getUpdates`` ends the first with 409, as on Telegram.
    """

    def __init__(self, token: str = TEST_TOKEN, *, username: str = "pyclaw_test_bot") -> None:
        self.state = FakeState(token, username)
        self._server = make_server(lambda t, m, p: dispatch(self.state, t, m, p))
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def api_base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; pending long polls return at once."""
        with self.state.cond:
            self.state.closing = True
            self.state.cond.notify_all()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- inbound traffic --------------------------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str = "Ada", username: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            body["username"] = username
        return body

    @staticmethod
    def chat(chat_id: int, first_name: str = "Ada") -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": first_name}
        return {"id": chat_id, "type": "group", "title": "A group"}

    def user_message(
        self, text: str, *, user_id: int = 42, chat_id: int | None = None, first_name: str = "Ada"
    ) -> int:
        """A user writes ``text`` (a private chat unless ``chat_id`` is given); returns update_id."""
        chat = chat_id if chat_id is not None else user_id
        with self.state.cond:
            self.state.next_message_id += 1
            message_id = self.state.next_message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat, first_name),
            "from": self.user(user_id, first_name),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.state.add_update({"message": message})

    def press(
        self, message_id: int, data: str, *, user_id: int = 42, chat_id: int | None = None
    ) -> int:
        """A user presses an inline button carrying ``data`` under a message; returns update_id."""
        chat = chat_id if chat_id is not None else user_id
        query_id = uuid.uuid4().hex
        with self.state.cond:
            self.state.queries.add(query_id)
            sent = self.state.messages.get((chat, message_id))
            message = (
                message_dict(self.state, sent)
                if sent is not None
                else {"message_id": message_id, "date": int(time.time()), "chat": self.chat(chat)}
            )
        return self.state.add_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(user_id),
                    "message": message,
                    "chat_instance": str(chat),
                    "data": data,
                }
            }
        )

    def react(
        self, message_id: int, emoji: str, *, user_id: int = 42, chat_id: int | None = None
    ) -> int:
        """A user adds an emoji reaction to a message; returns update_id."""
        chat = chat_id if chat_id is not None else user_id
        return self.state.add_update(
            {
                "message_reaction": {
                    "chat": self.chat(chat),
                    "message_id": message_id,
                    "user": self.user(user_id),
                    "date": int(time.time()),
                    "old_reaction": [],
                    "new_reaction": [{"type": "emoji", "emoji": emoji}],
                }
            }
        )

    def inject(self, body: dict[str, Any]) -> int:
        """Queue a raw update (without ``update_id``); returns its id."""
        return self.state.add_update(body)

    def redeliver(self, update_id: int) -> None:
        """Send an update again, as Telegram occasionally does."""
        self.state.requeue(update_id)

    # -- faults -----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        code: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """The next ``times`` calls of ``method`` (after ``after`` normal ones) answer this error."""
        with self.state.cond:
            queue = self.state.faults.setdefault(method.lower(), deque())
            queue.extend([None] * after)
            queue.extend([Fault(code, description, retry_after)] * times)

    def rate_limit(self, method: str, retry_after: int, *, times: int = 1) -> None:
        self.fail(
            method,
            429,
            f"Too Many Requests: retry after {retry_after}",
            times=times,
            retry_after=retry_after,
        )

    def conflict(self, *, times: int = 1) -> None:
        self.fail("getUpdates", 409, CONFLICT_POLL, times=times)

    def server_errors(self, method: str, *, times: int = 3, code: int = 502) -> None:
        self.fail(
            method, code, "Bad Gateway" if code == 502 else "Internal Server Error", times=times
        )

    def set_webhook(self, url: str | None) -> None:
        with self.state.cond:
            self.state.webhook_url = url

    # -- inspection -------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        with self.state.cond:
            return list(self.state.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (current state), oldest first."""
        with self.state.cond:
            found = [m for (chat, _), m in self.state.messages.items() if chat_id in (None, chat)]
        return sorted(found, key=lambda m: m.message_id)

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        with self.state.cond:
            return self.state.messages[(chat_id, message_id)]

    def callback_answer(self, update_id: int) -> dict[str, Any] | None:
        """What the bot answered to the button press of ``update_id`` (``None`` if nothing)."""
        with self.state.cond:
            query = self.state.history[update_id]["callback_query"]["id"]
            return self.state.answered.get(query)

    def pending_updates(self) -> int:
        with self.state.cond:
            return len(self.state.updates)


async def wait_until(
    predicate: Callable[[], bool], within: float = 5.0, interval: float = 0.01
) -> None:
    """Poll ``predicate`` until it is true; ``TimeoutError`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(interval)
