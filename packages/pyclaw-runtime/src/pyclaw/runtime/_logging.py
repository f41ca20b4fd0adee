"""Logging: structlog over the standard library, configured on first use.

The daemon logs JSON lines (to ``logs/pyclaw.log`` and stderr); terminal commands log a readable
console format to stderr. Both pass through a redaction step: values of secret-looking keys
(``token``, ``api_key``, ``password``…) and every value registered with ``add_redaction`` are
replaced before anything is rendered, including records from plain ``logging`` loggers.

structlog (with its console renderer, ~60 ms of imports) is imported only when a record is
actually formatted or a structlog logger is asked for: ``configure_logging`` itself sets up
plain ``logging`` handlers whose formatter builds structlog's ``ProcessorFormatter`` on first use,
so a command that logs nothing never loads it.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import structlog
    from structlog.typing import EventDict, Processor, WrappedLogger

    from pyclaw.meta import Redactor

LogMode = Literal["console", "json"]
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"(?i)(token|api[_-]?key|secret|password|passwd|authorization|cookie)")
_secrets: set[str] = set()
_lock = threading.Lock()
_OURS = "_pyclaw_handler"
_redactor: Redactor | None = None
_structlog_pending = False
"""``configure_logging`` ran but ``structlog.configure`` has not yet (it runs on first use)."""


def add_redaction(value: str) -> None:
    """Never log ``value``: it is replaced by ``[redacted]`` wherever it appears in a log line."""
    if len(value) >= 4:
        with _lock:
            _secrets.add(value)


def use_redactor(redactor: Redactor | None) -> None:
    """Also pass every logged string through ``redactor`` (registered secrets in all their
    encodings, and key-shaped strings); the runtime installs its ``SecretRedactor`` here."""
    global _redactor  # noqa: PLW0603 - one logging configuration per process
    _redactor = redactor


def _scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text if _redactor is None else _redactor.redact(text)


def redact(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """structlog processor removing secret values from an event."""
    for key, value in list(event.items()):
        if _SECRET_KEY.search(key) and value is not None and key != "event":
            event[key] = REDACTED
        elif isinstance(value, str) and (_secrets or _redactor is not None):
            event[key] = _scrub(value)
    return event


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never crash the program
            self.handleError(record)


def _shared() -> list[Processor]:
    import structlog  # noqa: PLC0415 - lazy: only when something is logged

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]


def _configure_structlog() -> None:
    """Route structlog loggers through the standard library handlers (once per configuration)."""
    global _structlog_pending  # noqa: PLW0603 - one logging configuration per process
    import structlog  # noqa: PLC0415 - lazy: only when something is logged

    with _lock:
        if not _structlog_pending:
            return
        structlog.configure(
            processors=[*_shared(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )
        _structlog_pending = False


class _LazyFormatter(logging.Formatter):
    """structlog's ``ProcessorFormatter`` (JSON or console), built on the first record."""

    def __init__(self, mode: LogMode) -> None:
        super().__init__()
        self.mode: LogMode = mode
        self._real: logging.Formatter | None = None
        self._build_lock = threading.Lock()

    def _formatter(self) -> logging.Formatter:
        real = self._real
        if real is None:
            with self._build_lock:
                if self._real is None:
                    self._real = _formatter(self.mode)
                real = self._real
        return real

    def format(self, record: logging.LogRecord) -> str:
        _configure_structlog()
        return self._formatter().format(record)


def _formatter(mode: LogMode) -> logging.Formatter:
    import structlog  # noqa: PLC0415 - lazy: only when something is logged

    if mode == "json":
        renderer: Processor = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def configure_logging(
    mode: LogMode = "console", *, level: str | int = "WARNING", log_dir: Path | None = None
) -> None:
    """(Re)configure logging: ``mode`` lines on stderr, and JSON lines appended to
    ``log_dir/pyclaw.log`` (rotated) when ``log_dir`` is given."""
    global _structlog_pending  # noqa: PLW0603 - one logging configuration per process
    with _lock:
        _structlog_pending = True
    if "structlog" in sys.modules:  # already paid for: configure now, as before
        _configure_structlog()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    stderr = _StderrHandler()
    stderr.setFormatter(_LazyFormatter(mode))
    handlers: list[logging.Handler] = [stderr]
    if log_dir is not None:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            log_dir / "pyclaw.log", maxBytes=10 * 2**20, backupCount=5, encoding="utf-8"
        )
        file.setFormatter(_LazyFormatter("json"))
        handlers.append(file)
    for handler in handlers:
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())


def get_logger(name: str = "pyclaw", **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger bound to ``context``."""
    import structlog  # noqa: PLC0415 - lazy: only when something is logged

    _configure_structlog()
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**context) if context else logger
