"""Slash and context-menu commands: thin, they parse, call the API client and render."""
