"""Guard hooks and secret redaction."""
