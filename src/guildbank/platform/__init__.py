"""Infrastructure every feature stands on.

Database, migrations, unit of work, cache, clock, bus, rate limits and API keys.
"""
