"""Composition root: config, CLI, daemon."""
