"""The archive's rules: how much history an archive may leave in the hot tables."""

from __future__ import annotations

__all__ = ["CONFIRMATION", "MAX_DAYS_TO_KEEP", "MIN_DAYS_TO_KEEP"]

# At least a day is kept: what was posted in the last day is never archived (a posting in
# flight is never older than that), and the seed's default is 90.
MIN_DAYS_TO_KEEP = 1
MAX_DAYS_TO_KEEP = 36_500
# What the dashboard asks an admin to type before archiving.
CONFIRMATION = "ARCHIVE"
