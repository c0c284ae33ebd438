"""Discord side effects: written in the unit of work, performed by the bot's worker."""
