"""Content-addressed file store (sha256) with a metadata index, retention and cleanup.

``FileArtifactStore(root, db)`` implements ``pyclaw.meta.ArtifactStore``: bytes are stored once per
content under ``root/<sha[:2]>/<sha[2:4]>/<sha>``, written crash-safely, verified on every read, and
indexed in the ``artifacts`` table of a ``pyclaw.storage.Database`` for listing, pinning and cleanup.
"""

from pyclaw.artifact._index import ARTIFACT_MIGRATIONS, ArtifactInfo
from pyclaw.artifact._retention import CleanupReport, RetentionPolicy, VerifyReport
from pyclaw.artifact._store import ArtifactStatus, FileArtifactStore

__all__ = [
    "ARTIFACT_MIGRATIONS",
    "ArtifactInfo",
    "ArtifactStatus",
    "CleanupReport",
    "FileArtifactStore",
    "RetentionPolicy",
    "VerifyReport",
]
