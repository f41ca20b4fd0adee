"""Long-term memory store with provenance and TTL."""
