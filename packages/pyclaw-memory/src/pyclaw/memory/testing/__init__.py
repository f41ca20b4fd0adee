"""Test helpers for memory stores: the ``MemoryStoreContract`` conformance suite and a ``FakeClock``.

Needs the ``testing`` extra (``pip install pyclaw-memory[testing]``) for pytest and pytest-asyncio.
"""

from pyclaw.memory.testing._clock import FakeClock
from pyclaw.memory.testing._contract import (
    HOSTILE_QUERIES,
    FullMemoryStore,
    MemoryStoreContract,
)

__all__ = ["HOSTILE_QUERIES", "FakeClock", "FullMemoryStore", "MemoryStoreContract"]
