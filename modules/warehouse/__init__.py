"""Locations tree, double-entry stock ledger and balances, receipts, adjustments, counts, FEFO.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
