"""vaxchain's core: the plugin-based Flask platform the domain modules and plugins stand on."""
from core.app import create_app

__all__ = ["create_app"]
