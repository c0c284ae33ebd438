"""The bot kit every feature's Discord side shares: API transport, state, checks, errors,
the confirmation menu and embed style."""
