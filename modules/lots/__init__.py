"""Vaccine presentations (GTINs), lots and lot status, GS1 scanning and lot labels.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
