"""Secrets from the environment, the OS keyring or a 0600 file; never printed.

``DefaultSecretStore(home)`` implements ``pyclaw.meta.SecretStore``: ``get`` looks in
``PYCLAW_SECRET_<NAME>``, then a keyring backend that works unattended, then ``home/secrets.json``;
``resolve("secret:<name>")`` turns config references into values.
"""

from pyclaw.secret._keyring import KeyringChoice, choose_keyring
from pyclaw.secret._memory import InMemoryKeyring, MemorySecretStore
from pyclaw.secret._names import SECRET_PREFIX, check_name, env_var_name, secret_reference
from pyclaw.secret._store import DefaultSecretStore, SecretBackendStatus

__all__ = [
    "SECRET_PREFIX",
    "DefaultSecretStore",
    "InMemoryKeyring",
    "KeyringChoice",
    "MemorySecretStore",
    "SecretBackendStatus",
    "check_name",
    "choose_keyring",
    "env_var_name",
    "secret_reference",
]
