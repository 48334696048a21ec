"""Cold-chain shipments: picking, dispatch, temperature logs, proof of delivery, manifests.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
