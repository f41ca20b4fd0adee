"""SQLite storage engine: WAL, ordered migrations, viewer-friendly views."""
