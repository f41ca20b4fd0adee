"""``CronDelivery``: webhook POSTs to a real HTTP server on 127.0.0.1, announce, silent."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import pytest

from pyclaw.meta import CronJob
from pyclaw.runtime._cron_deliver import CronDelivery, url_origin
from pyclaw.runtime._cron_report import CronReport
from pyclaw.runtime._cron_store import RunStatusText

WHEN = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
KEY = "cron:digest:2025-06-02T09:00:00.000000+00:00"
SECRET = "tok_5ecret"


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: object


@dataclass
class Hook:
    """A webhook receiver: answers with the scripted statuses (then 200) and records requests."""

    statuses: list[int] = field(default_factory=list[int])
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list[Hit])
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            state.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(state.delay)
            status = state.statuses.pop(0) if state.statuses else 200
            try:
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "7")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Naps:
    """An injected sleep that records the backoff instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def report(
    deliver: Literal["announce", "webhook", "silent"] = "webhook",
    target: str | None = None,
    *,
    status: RunStatusText = "succeeded",
    answer: str | None = "Three headlines.",
    error: str | None = None,
    consecutive_failures: int = 0,
) -> CronReport:
    job = CronJob(
        name="digest", schedule="0 9 * * *", prompt="news", deliver=deliver, target=target
    )
    return CronReport(
        job,
        WHEN,
        status,
        answer=answer,
        session_id="ses_1",
        run_id="run_1",
        error=error,
        consecutive_failures=consecutive_failures,
    )


async def test_webhook_retries_a_500_then_delivers_with_one_idempotency_key(hook: Hook) -> None:
    hook.statuses = [500, 503]
    naps = Naps()
    delivery = CronDelivery(sleep=naps, backoff=(1.0, 5.0, 15.0))
    result = await delivery(report(target=hook.url(f"/hook/{SECRET}?k=1")))
    assert (result.status, result.error, result.attempts) == ("delivered", None, 3)
    assert naps.waits == [1.0, 5.0]
    assert [hit.headers["idempotency-key"] for hit in hook.hits] == [KEY] * 3
    assert hook.hits[0].headers["content-type"] == "application/json"
    assert hook.hits[0].path == f"/hook/{SECRET}?k=1"
    assert hook.hits[-1].body == {
        "job": "digest",
        "scheduled_for": "2025-06-02T09:00:00+00:00",
        "status": "succeeded",
        "answer": "Three headlines.",
        "session_id": "ses_1",
        "run_id": "run_1",
        "error": None,
        "consecutive_failures": 0,
        "disabled": False,
        "disabled_reason": None,
    }


async def test_webhook_gives_up_after_bounded_attempts_without_leaking_the_url(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.statuses = [500] * 10
    naps = Naps()
    caplog.set_level(logging.DEBUG)
    result = await CronDelivery(sleep=naps)(report(target=hook.url(f"/hook/{SECRET}")))
    assert result.status == "failed"
    assert result.attempts == 4
    assert len(hook.hits) == 4
    assert naps.waits == [1.0, 5.0, 15.0]
    assert result.error == f"webhook http://127.0.0.1:{hook.port}: HTTP 500 after 4 attempt(s)"
    assert caplog.records
    assert all(SECRET not in record.getMessage() for record in caplog.records)


async def test_webhook_does_not_retry_a_client_error_and_honours_retry_after(hook: Hook) -> None:
    hook.statuses = [429, 404]
    naps = Naps()
    result = await CronDelivery(sleep=naps)(report(target=hook.url()))
    assert (result.status, result.attempts) == ("failed", 2)
    assert result.error is not None
    assert result.error.endswith("HTTP 404 after 2 attempt(s)")
    assert naps.waits == [7.0]  # the 429's Retry-After, longer than the 1 s backoff


async def test_webhook_network_errors_and_timeouts_are_retried(hook: Hook) -> None:
    naps = Naps()
    closed = f"http://127.0.0.1:1/{SECRET}"  # nothing listens on port 1
    result = await CronDelivery(sleep=naps, backoff=(2.0,))(report(target=closed))
    assert (result.status, result.attempts, naps.waits) == ("failed", 2, [2.0])
    assert result.error is not None
    assert result.error.startswith("webhook http://127.0.0.1:1: ConnectError")
    assert SECRET not in result.error

    hook.delay = 0.5
    slow = CronDelivery(sleep=Naps(), backoff=(0.0,), timeout=0.1)
    started = time.monotonic()
    result = await slow(report(target=hook.url()))
    assert time.monotonic() - started < 2.0
    assert (result.status, result.attempts) == ("failed", 2)
    assert "ReadTimeout" in (result.error or "")


async def test_announce_gets_the_answer_target_and_key() -> None:
    sent: list[tuple[str | None, str, str]] = []

    async def announce(target: str | None, text: str, key: str) -> None:
        sent.append((target, text, key))

    delivery = CronDelivery(announce=announce)
    result = await delivery(report("announce", "telegram:42", answer="  Good morning!\n"))
    assert (result.status, result.attempts) == ("delivered", 1)
    assert sent == [("telegram:42", "Good morning!", KEY)]

    await delivery(report("announce", None, status="failed", answer=None, error="quota\nexceeded"))
    assert sent[-1] == (None, "Cron job 'digest' failed: quota exceeded", KEY)
    # A retry that fails again is not announced again; a cancelled firing neither.
    again = report("announce", None, status="failed", error="quota", consecutive_failures=2)
    assert (await delivery(again)).status == "skipped"
    assert (await delivery(report("announce", status="cancelled"))).status == "skipped"
    assert len(sent) == 2


async def test_announce_failures_are_results_not_exceptions() -> None:
    async def broken(target: str | None, text: str, key: str) -> None:
        raise RuntimeError("Bad Request: chat not found")

    result = await CronDelivery(announce=broken)(report("announce"))
    assert (result.status, result.error) == ("failed", "Bad Request: chat not found")
    nobody = await CronDelivery()(report("announce"))
    assert (nobody.status, nobody.error) == ("failed", "no channel to announce on")

    async def stuck(target: str | None, text: str, key: str) -> None:
        await asyncio.Event().wait()

    late = await CronDelivery(announce=stuck, announce_timeout=0.05)(report("announce"))
    assert (late.status, late.error) == ("failed", "announce timed out after 0.05s")


async def test_silent_delivers_nothing(hook: Hook) -> None:
    called: list[str] = []

    async def announce(target: str | None, text: str, key: str) -> None:
        called.append(text)

    result = await CronDelivery(announce=announce)(report("silent", hook.url()))
    assert (result.status, result.attempts) == ("skipped", 0)
    assert called == []
    assert hook.hits == []


def test_url_origin_keeps_only_scheme_host_and_port() -> None:
    assert (
        url_origin("https://user:pw@hooks.example.com/t/SECRET?x=1") == "https://hooks.example.com"
    )
    assert url_origin("http://127.0.0.1:8080/a") == "http://127.0.0.1:8080"
    assert url_origin("http://[::1") == "(invalid URL)"
