"""The archive's rules: how much history an archive may leave in the hot tables."""

from __future__ import annotations

__all__ = ["CONFIRMATION", "MAX_DAYS_TO_KEEP", "MIN_DAYS_TO_KEEP"]

# At least 31 days are kept: the statistics' longest period (a month, 30 days) and the
# overview's 30-day window then always read live history, so they stay exact (an archived
# entry is in a file, no longer in a sum); a posting in flight is never that old either.
# The seed's default is 90.
MIN_DAYS_TO_KEEP = 31
MAX_DAYS_TO_KEEP = 36_500
# What the dashboard asks an admin to type before archiving.
CONFIRMATION = "ARCHIVE"
