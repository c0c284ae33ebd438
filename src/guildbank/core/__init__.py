"""Feature-free pure code every layer may use: the root error, ids, base models."""
