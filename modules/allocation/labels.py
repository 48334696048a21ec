"""The words users see for plan states and strategies (the stored values stay English codes)."""
from flask_babel import lazy_gettext as _l

from modules.allocation.models import APPROVED, CANCELLED, DEMAND, DRAFT, MANUAL, POPULATION, STATES, STRATEGIES

STATE_LABELS = {DRAFT: _l("Draft"), APPROVED: _l("Approved"), CANCELLED: _l("Cancelled")}
STRATEGY_LABELS = {POPULATION: _l("By target population"), DEMAND: _l("By remaining demand"),
                   MANUAL: _l("By hand")}
assert set(STATE_LABELS) == set(STATES) and set(STRATEGY_LABELS) == set(STRATEGIES)
