"""``pyclaw daemon`` as a whole process: start, graceful stop, idle memory, throughput, latency.

Set-up: the real ``pyclaw daemon --log-format json`` console script, spawned in a temporary
``PYCLAW_HOME`` (XDG dirs temporary too) whose ``pyclaw.toml`` has an ``openai-compatible``
provider on ``bench.llm.InstantServer`` (127.0.0.1, a canned "Hello, benchmark!" at once) and
``[telegram]`` on a ``FakeTelegramServer`` (127.0.0.1, ``poll_timeout = 1``). Default log level
(INFO) and default ``[daemon]`` settings (8 turns at once), the default agent and its built-in
tools: what a user gets. Both fakes run as threads of this bench process (so they share the 2
cores with the daemon); every Telegram reply is checked (text, chat, reply count, model requests).

Rows:

- **ready**: wall time from spawn to the ``pyclaw daemon ready`` line on its stderr (median of
  ``runs`` starts in the same, already-migrated home; the first start in a new home is its own
  row). Includes interpreter start, imports, config, database open and migration check, the
  default agent built, Telegram's ``getMe``/``deleteWebhook``/first poll/``setMyCommands``, the
  control socket and cron. The daemon's own ``ready_ms`` (measured inside ``serve()``, so
  without interpreter start, imports and config) is printed beside it. Target < 1000 ms.
- **graceful stop**: SIGTERM to process exit, which must be 0 (median over all starts).
- **idle RSS**: ``VmRSS`` from ``/proc/<pid>/status`` after a few answered messages and a
  couple of idle seconds. Target < 80 MB, for a daemon started in a home used before (the usual
  restart). The first daemon of the new home answers the same warm-ups first and its idle RSS is
  its own row: with no token counts remembered yet, its first turn loads the ``o200k_base``
  tokenizer (~75 MB; later processes bound the prompt without it while it fits, see
  ``pyclaw.context``). The RSS after the throughput run is printed too.
- **throughput**: ``chats`` chats (distinct allowed users) each send ``per_chat`` messages, all
  put at the fake at once; turns/s from the first injection until the fake received the last
  reply's ``sendMessage``. The daemon's CPU time per turn (``/proc/<pid>/stat``) is printed beside it.
- **latency added**: one chat, ``sequential`` messages one after another (after warm-ups), each
  timed from just before it is put at the fake (the daemon's pending long poll wakes at once)
  to the moment the fake received the ``sendMessage`` carrying its reply (``ApiCall.at``, same
  monotonic clock). Included: the ``getUpdates`` answer and PTB's parsing, the allow-list, the
  inbox write, the chat queue, the run and session records, context building, the loopback
  HTTP round trip to the model, the audit trail, Markdown→HTML rendering and the
  ``sendMessage`` request. Not subtracted: the model's own time, microseconds for
  ``InstantServer``. Target p50 < 20 ms. (A fast turn sends no "typing…": the daemon shows it,
  and 👀, only for a turn still running after 0.3 s.) The chat's
  session carries on from the warm-ups, so the p50 of the first and last ten messages is shown
  too (a turn costs more as its session grows).

Sizes: ``FULL`` 7 timed starts, 5 + 5 warm-ups, 2 s idle, 50 sequential messages, 100 chats x 5
(~30 s); ``QUICK`` (``--quick``, for the tests) 1 start, 2 + 2, 0.5 s, 5, 10 x 2 (~5 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import Row, p50, p90, row, scratch_home
from bench.cli_start import pyclaw_executable
from bench.llm import InstantServer
from pyclaw.controlplane_telegram.testing import FakeTelegramServer

ANSWER = "Hello, benchmark!"
TARGET_READY_MS = 1000.0
TARGET_RSS_MB = 80.0
TARGET_LATENCY_MS = 20.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
REPLY_TIMEOUT_S = 20.0
LATENCY_USER = 42
FIRST_CHAT_USER = 1000


@dataclass(frozen=True)
class Sizes:
    """How much of everything one run does."""

    runs: int
    warmups: int
    idle_s: float
    sequential: int
    chats: int
    per_chat: int


FULL = Sizes(runs=7, warmups=5, idle_s=2.0, sequential=50, chats=100, per_chat=5)
QUICK = Sizes(runs=1, warmups=2, idle_s=0.5, sequential=5, chats=10, per_chat=2)


class DaemonProcess:
    """One spawned ``pyclaw daemon``: its stderr drained by a thread, the ready line timed."""

    def __init__(self) -> None:
        argv = [str(pyclaw_executable()), "daemon", "--log-format", "json"]
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.ready_at: float | None = None
        self.ready_info: dict[str, Any] = {}
        self.tail: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._drain, name="daemon-stderr", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for raw in self.proc.stderr:  # every line read, so the pipe never fills up
                line = raw.decode("utf-8", "replace").rstrip()
                self.tail = [*self.tail[-19:], line]
                if self.ready_at is None and "pyclaw daemon ready" in line:
                    self.ready_at = time.monotonic()
                    with contextlib.suppress(ValueError):
                        self.ready_info = json.loads(line)
                    self._ready.set()
        self._ready.set()  # the process ended (maybe before ready)

    def wait_ready(self) -> float:
        """Milliseconds from spawn to the ready line; raises with the last line if it died."""
        if not self._ready.wait(START_TIMEOUT_S) or self.ready_at is None:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(f"`pyclaw daemon` never got ready: {self.last_line()}")
        return (self.ready_at - self.spawned) * 1000

    def join(self) -> None:
        """Wait for the stderr reader (it ends, closing the pipe, once the process has exited)."""
        self._reader.join(5)

    def last_line(self) -> str:
        return self.tail[-1] if self.tail else f"(no output, exit {self.proc.poll()})"

    def rss_mb(self) -> float:
        """``VmRSS`` now, in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="ascii")
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) / 1024

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> float:
        """SIGTERM; milliseconds until exit, which must be 0."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(
                f"`pyclaw daemon` ignored SIGTERM for {STOP_TIMEOUT_S:g} s"
            ) from None
        elapsed = (time.monotonic() - started) * 1000
        self.join()
        if code != 0:
            raise RuntimeError(f"`pyclaw daemon` exited {code} on SIGTERM: {self.last_line()}")
        return elapsed


@contextlib.contextmanager
def running() -> Generator[DaemonProcess]:
    """A daemon that is killed if the block fails (a clean stop is the block's job)."""
    daemon = DaemonProcess()
    try:
        yield daemon
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(5)
        daemon.join()


def write_config(home: Path, model_url: str, fake: FakeTelegramServer, users: list[int]) -> None:
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "pyclaw.toml").write_text(
        f'[providers.instant]\nkind = "openai-compatible"\nbase_url = "{model_url}"\n'
        'model = "gpt-4o-mini"\n\n[agents.default]\nprovider = "instant"\n\n'
        f'[telegram]\ntoken = "{fake.token}"\napi_base_url = "{fake.api_base_url}"\n'
        f"allowed_user_ids = {users}\npoll_timeout = 1\n",
        encoding="utf-8",
    )
    (home / "pyclaw.toml").chmod(0o600)


def wait_replies(
    fake: FakeTelegramServer,
    expected: int,
    chat_id: int | None = None,
    *,
    within: float = REPLY_TIMEOUT_S,
    interval: float = 0.001,
) -> None:
    """Until the fake holds ``expected`` bot messages (in ``chat_id``); checks their text."""
    deadline = time.monotonic() + within
    while len(sent := fake.messages(chat_id)) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(sent)} of {expected} replies after {within:g} s")
        time.sleep(interval)
    wrong = [m.text for m in sent if m.text != ANSWER]
    if len(sent) != expected or wrong:
        raise RuntimeError(f"unexpected replies: {len(sent)} of {expected}, {wrong[:3]}")


def chat(fake: FakeTelegramServer, user: int, text: str) -> float:
    """One message, waited for: ms from putting it at the fake to its ``sendMessage``."""
    before = len(fake.messages(user))
    calls = len(fake.calls)
    injected = time.monotonic()
    fake.user_message(text, user_id=user)
    wait_replies(fake, before + 1, user)
    mine = [c for c in fake.calls[calls:] if c.params.get("chat_id") == user]
    send = next(c.at for c in mine if c.method == "sendMessage")
    return (send - injected) * 1000


def throughput(
    daemon: DaemonProcess, fake: FakeTelegramServer, sizes: Sizes
) -> tuple[float, float]:
    """Turns per second for ``chats`` x ``per_chat`` messages put at once; CPU ms per turn."""
    users = [FIRST_CHAT_USER + n for n in range(sizes.chats)]
    turns = sizes.chats * sizes.per_chat
    before = len(fake.messages())
    calls = len(fake.calls)
    cpu = daemon.cpu_s()
    started = time.monotonic()
    for n in range(sizes.per_chat):
        for user in users:
            fake.user_message(f"message {n} from {user}", user_id=user)
    wait_replies(fake, before + turns, within=REPLY_TIMEOUT_S + turns * 0.2, interval=0.01)
    cpu_ms = (daemon.cpu_s() - cpu) * 1000 / turns
    finished = max(c.at for c in fake.calls[calls:] if c.method == "sendMessage")
    for user in users:
        if len(fake.messages(user)) != sizes.per_chat:
            raise RuntimeError(f"chat {user} got {len(fake.messages(user))} replies")
    return turns / (finished - started), cpu_ms


def run(quick: bool = False) -> list[Row]:
    """The daemon's rows (see the module docstring)."""
    return measure(QUICK if quick else FULL)


@dataclass
class Load:
    """What the workload measured on one running daemon."""

    idle_mb: float = 0.0
    loaded_mb: float = 0.0
    turns_per_s: float = 0.0
    cpu_ms: float = 0.0
    latency: list[float] = field(default_factory=list[float])


@dataclass
class Starts:
    """Start and stop times (ms), and the first daemon's idle RSS in its new home."""

    first_ms: float = 0.0
    first_mb: float = 0.0
    ready: list[float] = field(default_factory=list[float])
    inner: list[float] = field(default_factory=list[float])
    stops: list[float] = field(default_factory=list[float])


def measure(sizes: Sizes) -> list[Row]:
    """One new home: a first daemon answers the warm-ups; then ``runs`` starts, the last loaded."""
    if sizes.runs < 1:
        raise ValueError("sizes.runs must be at least 1")
    users = [LATENCY_USER, *(FIRST_CHAT_USER + n for n in range(sizes.chats))]
    starts = Starts()
    load = Load()
    with (
        InstantServer() as model,
        FakeTelegramServer() as fake,
        scratch_home("pyclaw-bench-daemon-") as root,
    ):
        write_config(root / "home", f"{model.url}/v1", fake, users)
        with running() as first:
            starts.first_ms = first.wait_ready()
            starts.first_mb = warm_up(first, fake, sizes)
            starts.stops.append(first.stop())
        for n in range(sizes.runs):
            with running() as daemon:
                starts.ready.append(daemon.wait_ready())
                starts.inner.append(float(daemon.ready_info.get("ready_ms", 0.0)))
                if n == sizes.runs - 1:
                    load = workload(daemon, fake, sizes)
                starts.stops.append(daemon.stop())
        turns = 2 * sizes.warmups + sizes.sequential + sizes.chats * sizes.per_chat
        if model.requests != turns:
            raise RuntimeError(f"{model.requests} model requests for {turns} turns")
    return rows(sizes, starts, load)


def warm_up(daemon: DaemonProcess, fake: FakeTelegramServer, sizes: Sizes) -> float:
    """``warmups`` messages in the latency chat, then ``idle_s`` idle; ``VmRSS`` in MB."""
    for n in range(sizes.warmups):
        chat(fake, LATENCY_USER, f"warm-up {n}")
    time.sleep(sizes.idle_s)
    return daemon.rss_mb()


def workload(daemon: DaemonProcess, fake: FakeTelegramServer, sizes: Sizes) -> Load:
    load = Load(idle_mb=warm_up(daemon, fake, sizes))
    for n in range(sizes.sequential):
        load.latency.append(chat(fake, LATENCY_USER, f"message {n}"))
    load.turns_per_s, load.cpu_ms = throughput(daemon, fake, sizes)
    load.loaded_mb = daemon.rss_mb()
    return load


def rows(sizes: Sizes, starts: Starts, load: Load) -> list[Row]:
    same_home = f"{len(starts.ready)} starts in the same home"
    idle = f"VmRSS after {sizes.warmups} messages and {sizes.idle_s:g} s idle"
    seq = f"{sizes.sequential} sequential messages in one chat after {2 * sizes.warmups} warm-ups"
    ends = min(10, len(load.latency))
    trend = (
        f"first {ends}: p50 {p50(load.latency[:ends]):.1f} ms, "
        f"last {ends}: p50 {p50(load.latency[-ends:]):.1f} ms"
    )
    return [
        row(
            "ready, median",
            p50(starts.ready),
            "ms",
            below=TARGET_READY_MS,
            detail=f"{same_home}; spawn to the ready line; the daemon's own ready_ms "
            f"(from serve() on): median {p50(starts.inner):.0f} ms",
        ),
        row(
            "ready, first start in a new home",
            starts.first_ms,
            "ms",
            detail="creates and migrates the database",
        ),
        row(
            "graceful stop (SIGTERM to exit 0), median",
            p50(starts.stops),
            "ms",
            detail=f"{len(starts.stops)} stops, every one exit 0",
        ),
        row(
            "idle RSS with Telegram",
            load.idle_mb,
            "MB",
            below=TARGET_RSS_MB,
            detail=f"{idle}, in a home used before (token counts of the prompt remembered)",
        ),
        row(
            "idle RSS, first daemon in a new home",
            starts.first_mb,
            "MB",
            detail=f"{idle}; no token counts remembered yet: the first turn loads the tokenizer",
        ),
        row("RSS after the throughput run", load.loaded_mb, "MB", detail="VmRSS"),
        row(
            "throughput",
            load.turns_per_s,
            "turns/s",
            detail=f"{sizes.chats} chats x {sizes.per_chat} messages, all put at once",
        ),
        row("daemon CPU per turn (throughput run)", load.cpu_ms, "ms", detail="user + system"),
        row(
            "latency added, p50",
            p50(load.latency),
            "ms",
            below=TARGET_LATENCY_MS,
            detail=f"{seq}; update at the fake to its sendMessage; {trend}",
        ),
        row("latency added, p90", p90(load.latency), "ms", detail=seq),
    ]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result['name']:<52} {result['value']:>9} {result['unit']:<8} {result['detail']}")
