"""Content-addressed file store (sha256) with a metadata index, retention and cleanup."""
