"""Replay recorded sessions as regression checks."""
