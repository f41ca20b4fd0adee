"""OpenAI's Chat Completions API behind PyClaw's ``LLMProvider`` contract, on the official SDK.

Importing this package imports ``openai`` (about a second): ``pyclaw.llm`` itself never does.
Install with ``pip install 'pyclaw-llm[openai]'``. For servers that merely speak the same protocol
(llama.cpp, Ollama, vLLM…) ``pyclaw.llm.OpenAICompatibleProvider`` needs no SDK at all.
"""

from pyclaw.llm.openai._provider import OpenAIProvider

__all__ = ["OpenAIProvider"]
