"""Archive: ledger history older than a cut-off moved out of the hot tables, with checkpoints."""
