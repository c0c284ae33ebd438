"""Database: SQLAlchemy models, engine set-up and the ledger's SQL."""
