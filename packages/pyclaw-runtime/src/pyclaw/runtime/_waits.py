"""Long Cortensor waits on the terminal: decentralized inference can take minutes, and the
client logs "still waiting" (INFO, logger ``pyclaw.llm.cortensor``) every 15 s of a call.

Terminal commands log at WARNING, so those lines would stay hidden; ``show_waits`` prints them
on stderr (``  … router completion: still waiting for the Cortensor router (30 s)``) while a
chat turn or an eval runs. Under ``PYCLAW_LOG_LEVEL=INFO`` (or lower) logging shows them already
and nothing changes; records of that logger at WARNING or above still reach the normal handlers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from contextlib import contextmanager

CORTENSOR_LOGGER = "pyclaw.llm.cortensor"


class _WaitLines(logging.Handler):
    """Prints INFO records as one short line on whatever ``sys.stderr`` is at emit time (a rich
    progress bar redirects it to print above the bar); passes louder records to the root."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            root = logging.getLogger()
            if root.isEnabledFor(record.levelno):
                root.handle(record)
            return
        try:
            sys.stderr.write(f"  … {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - showing progress must never break the turn
            self.handleError(record)


@contextmanager
def show_waits(enabled: bool = True) -> Generator[None]:
    """While the body runs, print the Cortensor client's "still waiting" lines on stderr
    (``enabled=False``: quiet, e.g. under ``-q`` or ``--json``)."""
    logger = logging.getLogger(CORTENSOR_LOGGER)
    if not enabled or logger.isEnabledFor(logging.INFO):
        yield
        return
    handler = _WaitLines(logging.INFO)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
