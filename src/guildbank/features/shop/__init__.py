"""The shop: items bought with bytes, inventories, use and sell-back, Discord shop posts."""
