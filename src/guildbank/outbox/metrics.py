"""Prometheus metrics of the outbox, counted where workers report (the web processes)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["DONE", "FAILED", "LATENCY", "RETRIED"]

DONE = Counter("guildbank_outbox_jobs_done_total", "Outbox jobs performed in Discord", ["kind"])
FAILED = Counter(
    "guildbank_outbox_jobs_failed_total", "Outbox jobs given up on (failed for good)", ["kind"]
)
RETRIED = Counter(
    "guildbank_outbox_jobs_retried_total", "Outbox job attempts that will be tried again", ["kind"]
)
LATENCY = Histogram(
    "guildbank_outbox_queue_seconds",
    "From a job written to its Discord effect reported done",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
