"""Secrets from the OS keyring, environment or a 0600 file; never printed."""
