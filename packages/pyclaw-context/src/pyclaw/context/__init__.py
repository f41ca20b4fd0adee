"""Builds prompt context under a strict token budget."""
