"""Test helpers for session logs: the ``SessionLogContract`` conformance suite, a tiny in-memory
``ArtifactStore`` and one sample payload of every event kind.

Needs the ``testing`` extra (``pip install pyclaw-session[testing]``) for pytest and pytest-asyncio.
"""

from pyclaw.session.testing._artifacts import MemoryArtifactStore
from pyclaw.session.testing._contract import SessionLogContract, TamperAction, assert_linked
from pyclaw.session.testing._samples import sample_payloads

__all__ = [
    "MemoryArtifactStore",
    "SessionLogContract",
    "TamperAction",
    "assert_linked",
    "sample_payloads",
]
