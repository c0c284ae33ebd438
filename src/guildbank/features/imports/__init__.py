"""Import from the seed bot's JSON files (seed 002 layout): opening balances, history, shop,
tasks, settings."""
