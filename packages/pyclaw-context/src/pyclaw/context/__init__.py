"""Builds the prompt context for each LLM call under a strict token budget.

It will implement the ``pyclaw.meta.ContextBuilder`` protocol.

Not implemented yet: this package is an honest skeleton and exports nothing. Its capability
arrives with issue #4.
"""

__all__: list[str] = []
