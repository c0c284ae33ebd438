"""The REST API (FastAPI, mounted at /api): parse, call a service, render; no rules here."""
