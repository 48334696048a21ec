"""Demo data for ``vaxchain init --demo``: stores and sites, users assigned to them, lots and stock."""


def create_demo_data():
    """Idempotent."""
