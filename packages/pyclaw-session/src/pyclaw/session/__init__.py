"""Append-only, hash-chained session and run log."""
