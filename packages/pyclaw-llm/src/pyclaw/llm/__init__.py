"""LLM provider layer behind one contract."""
