"""The money kernel: legs, posting, accounts, limits, integrity.

Every movement of money goes through it.
"""
