"""Use cases: one function per verb, each running inside the caller's unit of work."""
