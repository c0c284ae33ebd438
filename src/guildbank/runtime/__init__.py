"""The only code that names every feature: it wires the app, the bot and the services."""
