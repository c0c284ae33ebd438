"""The money kernel: transaction types, legs, posting, accounts, reversals, integrity.

Every movement of money goes through it; features never write the ledger tables themselves.
"""
