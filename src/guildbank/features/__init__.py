"""One package per business feature; runtime.registry lists them."""
