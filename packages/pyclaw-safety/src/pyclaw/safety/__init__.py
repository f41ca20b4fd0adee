"""Safety for PyClaw: guard hooks, untrusted-content boundaries and secret redaction.

- ``SecretRedactor``: a ``pyclaw.meta.Redactor`` for registered secrets (in every encoding) and
  well-known credential shapes.
- Guards (``pyclaw.meta.Guard``): ``GuardChain`` runs several in order; ``RedactionGuard`` removes
  secrets from LLM requests, responses and tool results; ``UntrustedContentGuard`` wraps untrusted
  tool output in boundary markers with a per-run nonce that the content cannot spoof.
- Redaction at the sinks: ``redact_structlog`` (a structlog processor), ``redact_outbound`` (for
  channels), ``RedactingArtifactStore`` and ``redact_model``.
"""

from pyclaw.safety._artifacts import RedactingArtifactStore, is_text_media_type, redact_bytes
from pyclaw.safety._boundary import (
    REMOVED_ID,
    REMOVED_MARKER,
    boundary_instructions,
    close_marker,
    is_wrapped,
    neutralize_markers,
    open_marker,
    unwrap_untrusted,
    wrap_untrusted,
)
from pyclaw.safety._chain import GuardChain
from pyclaw.safety._fold import fold
from pyclaw.safety._forms import secret_forms
from pyclaw.safety._redaction import (
    StructlogProcessor,
    redact_model,
    redact_outbound,
    redact_structlog,
)
from pyclaw.safety._redaction_guard import RedactionGuard
from pyclaw.safety._redactor import (
    MIN_SECRET_LENGTH,
    SecretRedactor,
    ShortSecretWarning,
    replacement,
)
from pyclaw.safety._untrusted import UntrustedContentGuard, default_nonce

__all__ = [
    "MIN_SECRET_LENGTH",
    "REMOVED_ID",
    "REMOVED_MARKER",
    "GuardChain",
    "RedactingArtifactStore",
    "RedactionGuard",
    "SecretRedactor",
    "ShortSecretWarning",
    "StructlogProcessor",
    "UntrustedContentGuard",
    "boundary_instructions",
    "close_marker",
    "default_nonce",
    "fold",
    "is_text_media_type",
    "is_wrapped",
    "neutralize_markers",
    "open_marker",
    "redact_bytes",
    "redact_model",
    "redact_outbound",
    "redact_structlog",
    "replacement",
    "secret_forms",
    "unwrap_untrusted",
    "wrap_untrusted",
]
