"""Announcements, custom embeds, custom commands and the bot's presence (SPEC §8)."""
