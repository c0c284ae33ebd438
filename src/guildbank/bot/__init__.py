"""The Discord bot: hikari + lightbulb commands, listeners and the outbox worker."""
