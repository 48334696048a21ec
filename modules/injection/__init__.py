"""People, injections, dose rules, certificates, reminders, backlog import, reconciliation.

Registered with the plugin manager like any plugin; its hook implementations live here.
"""
