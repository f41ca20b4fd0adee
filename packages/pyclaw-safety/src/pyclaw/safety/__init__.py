"""Safety for PyClaw: secret redaction (``SecretRedactor``, a ``pyclaw.meta.Redactor``).

Guard hooks (``pyclaw.meta.Guard`` implementations that veto or transform LLM and tool calls)
arrive in a later issue.
"""

from pyclaw.safety._forms import secret_forms
from pyclaw.safety._redactor import (
    MIN_SECRET_LENGTH,
    SecretRedactor,
    ShortSecretWarning,
    replacement,
)

__all__ = [
    "MIN_SECRET_LENGTH",
    "SecretRedactor",
    "ShortSecretWarning",
    "replacement",
    "secret_forms",
]
