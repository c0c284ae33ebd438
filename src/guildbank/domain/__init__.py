"""Pure rules and value types: no IO, no frameworks."""
