"""Allocation plans to provinces and sites, approved into picked shipments.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
