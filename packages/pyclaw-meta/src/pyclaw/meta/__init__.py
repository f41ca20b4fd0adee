"""Shared contracts: pydantic schemas, Protocols, errors."""
