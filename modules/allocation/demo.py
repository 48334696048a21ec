"""Demo target populations (people aged 18 and over, rounded: illustrative figures, not official ones)."""
from pathlib import Path

from core.accounts import find_user
from core.db import db
from modules.allocation import targets

DEMO_FILE = Path(__file__).resolve().parent / "data" / "targets_demo.csv"


def create_demo_data():
    """Set the demo target populations, then commit. Idempotent."""
    targets.load_targets(DEMO_FILE, user=find_user("admin"))
    db.session.commit()
