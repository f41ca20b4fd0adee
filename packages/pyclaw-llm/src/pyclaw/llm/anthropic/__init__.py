"""Anthropic's Messages API behind PyClaw's ``LLMProvider`` contract, on the official SDK.

Importing this package imports ``anthropic`` (seconds): ``pyclaw.llm`` itself never does. Install
with ``pip install 'pyclaw-llm[anthropic]'``.
"""

from pyclaw.llm.anthropic._format import MessagesCall, build_call
from pyclaw.llm.anthropic._provider import AnthropicProvider

__all__ = ["AnthropicProvider", "MessagesCall", "build_call"]
