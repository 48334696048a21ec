"""First-party domain modules. Each is a package with a ``__manifest__.py`` (see core/registry.py)."""
