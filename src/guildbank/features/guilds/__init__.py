"""Guilds: registration, per-guild settings, admin roles."""
