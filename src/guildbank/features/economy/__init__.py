"""The economy: balances, daily rewards, transfers, admin money tools, reversals,
leaderboard and history."""
