"""``CronDelivery``: sends what a firing produced where its job says (``deliver`` / ``target``).

- ``silent``: nothing (recorded as ``skipped``).
- ``announce``: ``announce(target, text, idempotency_key)``, a coroutine function the daemon
  provides (``target`` like ``telegram:<chat_id>``; ``None`` means the owner's default chat). The
  text is ``CronReport.announcement()``: the answer, or a short failure notice.
- ``webhook``: ``POST`` of ``CronReport.payload()`` as JSON to ``target`` with an
  ``Idempotency-Key: cron:<job>:<scheduled_for>`` header (the same on every attempt), retried
  with backoff on network errors, 408, 429 and 5xx, a bounded number of times.

A delivery that fails is recorded on the firing (``cron_runs.delivery``) and logged; it is not a
failure of the job. Webhook URLs may carry tokens: only their scheme and host are ever logged or
recorded (httpx's own ``HTTP Request: POST <url>`` log line is rewritten the same way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import httpx

from pyclaw.runtime._cron_failures import one_line
from pyclaw.runtime._cron_firings import DeliveryStatus
from pyclaw.runtime._cron_report import CronReport

Announce = Callable[[str | None, str, str], Awaitable[None]]
"""``announce(target, text, idempotency_key)``: send ``text`` to a chat (the daemon's channels)."""

log = logging.getLogger("pyclaw.runtime.cron")
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 60.0


class _HideUrls(logging.Filter):
    """Rewrites the webhook URLs being posted to as their origin in httpx's log records."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls:
            message = record.getMessage()
            hidden = message
            for url, origin in self.urls.items():
                hidden = hidden.replace(url, f"{origin}/…")
            if hidden != message:
                record.msg, record.args = hidden, None
        return True


_HIDE_URLS = _HideUrls()
logging.getLogger("httpx").addFilter(_HIDE_URLS)


@contextmanager
def _hidden(url: str, origin: str) -> Generator[None]:
    forms = {url}
    with suppress(httpx.InvalidURL, TypeError):
        forms.add(str(httpx.URL(url)))
    added = [form for form in forms if form not in _HIDE_URLS.urls]
    for form in added:
        _HIDE_URLS.urls[form] = origin
    try:
        yield
    finally:
        for form in added:
            _HIDE_URLS.urls.pop(form, None)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How a delivery went: ``delivered``, ``failed`` (with a one-line ``error``) or ``skipped``."""

    status: DeliveryStatus
    error: str | None = None
    attempts: int = 0


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what may be logged of a webhook URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "(invalid URL)"
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


class CronDelivery:
    """Delivers ``CronReport``s; call it (``await delivery(report)``) — it never raises."""

    def __init__(
        self,
        *,
        announce: Announce | None = None,
        timeout: float = 10.0,
        announce_timeout: float = 60.0,
        backoff: Sequence[float] = (1.0, 5.0, 15.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``backoff``: the waits between webhook attempts (so ``len(backoff) + 1`` attempts at
        most); ``timeout``: per attempt; ``transport``: for tests (e.g. ``httpx.MockTransport``)."""
        self.announce = announce
        self.timeout = timeout
        self.announce_timeout = announce_timeout
        self.backoff = tuple(backoff)
        self._sleep = sleep
        self._transport = transport

    async def __call__(self, report: CronReport) -> DeliveryResult:
        job = report.job
        try:
            match job.deliver:
                case "silent":
                    return DeliveryResult("skipped")
                case "announce":
                    result = await self._announce(report)
                case "webhook":
                    result = await self._webhook(report)
        except Exception as exc:  # noqa: BLE001 - a delivery problem must not stop the scheduler
            problem = f"{type(exc).__name__}: {exc}"
            if job.target:
                problem = problem.replace(job.target, url_origin(job.target))
            result = DeliveryResult("failed", one_line(problem))
        if result.status == "failed":
            log.warning("cron job %r: %s delivery failed: %s", job.name, job.deliver, result.error)
        return result

    async def _announce(self, report: CronReport) -> DeliveryResult:
        text = report.announcement()
        if text is None:
            return DeliveryResult("skipped")
        if self.announce is None:
            return DeliveryResult("failed", "no channel to announce on")
        try:
            async with asyncio.timeout(self.announce_timeout):
                await self.announce(report.job.target, text, report.idempotency_key)
        except TimeoutError:
            return DeliveryResult(
                "failed", f"announce timed out after {self.announce_timeout:g}s", 1
            )
        except Exception as exc:  # noqa: BLE001 - any channel error is a failed delivery
            return DeliveryResult("failed", one_line(str(exc) or type(exc).__name__), 1)
        return DeliveryResult("delivered", attempts=1)

    async def _webhook(self, report: CronReport) -> DeliveryResult:
        url = report.job.target or ""
        origin = url_origin(url)
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        with _hidden(url, origin):
            async with httpx.AsyncClient(
                timeout=timeout, transport=self._transport, follow_redirects=False
            ) as client:
                attempts, problem = await self._post(client, report, url, origin)
        if problem is None:
            log.info("cron job %r delivered to %s", report.job.name, origin)
            return DeliveryResult("delivered", attempts=attempts)
        error = one_line(f"webhook {origin}: {problem} after {attempts} attempt(s)")
        return DeliveryResult("failed", error, attempts)

    async def _post(
        self, client: httpx.AsyncClient, report: CronReport, url: str, origin: str
    ) -> tuple[int, str | None]:
        """POST until a 2xx, a final error or the last attempt: ``(attempts, problem)``."""
        headers = {"Idempotency-Key": report.idempotency_key, "User-Agent": "pyclaw-cron"}
        problem = "not attempted"
        attempt = 0
        for attempt, wait in enumerate((*self.backoff, None), start=1):
            delay = wait
            try:
                response = await client.post(url, json=report.payload(), headers=headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}".replace(url, origin)
            else:
                if response.is_success:
                    return attempt, None
                problem = f"HTTP {response.status_code}"
                if response.status_code not in _RETRY_STATUSES:
                    break
                delay = _retry_after(response, wait)
            if delay is None:
                break
            log.info("cron job %r: webhook %s: %s; retrying", report.job.name, origin, problem)
            await self._sleep(delay)
        return attempt, problem


def _retry_after(response: httpx.Response, wait: float | None) -> float | None:
    """The server's ``Retry-After`` (seconds, capped) when it asks for longer than ``wait``."""
    if wait is None:
        return None
    try:
        asked = float(response.headers.get("retry-after", ""))
    except ValueError:
        return wait
    return max(wait, min(asked, _MAX_RETRY_AFTER))
