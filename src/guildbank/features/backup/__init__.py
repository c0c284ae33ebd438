"""Export of a whole guild as JSON (and back), and SQLite backup/restore."""
