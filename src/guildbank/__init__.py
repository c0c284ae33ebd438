"""guildbank: a Discord economy platform on a double-entry ledger."""
