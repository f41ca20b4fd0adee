"""``build_local_provider``: a ``LocalProvider`` from ``[providers.<name>] kind = "local"``.

``pyclaw.llm.build_provider`` calls it (and wraps the result in a ``RetryingProvider``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pyclaw.llm._settings import ProviderSettings
from pyclaw.llm.local._locate import DEFAULT_MODEL_NAME
from pyclaw.llm.local._provider import LocalProvider
from pyclaw.meta import ProviderError

_BUNDLED_NAMES = frozenset({DEFAULT_MODEL_NAME, "smollm2", ""})


def build_local_provider(
    name: str, settings: ProviderSettings, *, log_dir: str | os.PathLike[str] | None = None
) -> LocalProvider:
    """The provider for a ``local`` entry.

    - ``base_url`` set: that server (Ollama, a llama.cpp server of your own), ``model`` its name.
    - else ``model`` a path to a ``.gguf`` file: a managed server for that file.
    - else (no model, ``smollm2`` or ``smollm2-135m-instruct``): a managed server for the bundled
      SmolLM2-135M-Instruct.
    """
    make = functools.partial(
        LocalProvider,
        api_key=settings.api_key_value(),
        name=name,
        timeout=settings.timeout,
        prices=settings.effective_prices(),
    )
    model = settings.model or ""
    if settings.base_url:
        return make(base_url=settings.base_url, model=model or None)
    if model.lower() in _BUNDLED_NAMES:
        return make(log_dir=log_dir)
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" or path.is_file():
        return make(model_path=path, log_dir=log_dir)
    raise ProviderError(
        f"provider {name!r}: kind 'local' needs model = a .gguf file path (or none, for the "
        f"bundled {DEFAULT_MODEL_NAME}), or a base_url; got model {model!r}",
        provider=name,
    )
