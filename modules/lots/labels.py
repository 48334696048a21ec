"""Names shown to users for the lot statuses."""
from flask_babel import lazy_gettext as _l

from modules.lots.models import AVAILABLE, DISCARDED, QUARANTINED, RECALLED, RELEASED

STATUS_LABELS = {
    AVAILABLE: _l("available"),
    QUARANTINED: _l("quarantined"),
    RELEASED: _l("released"),
    DISCARDED: _l("discarded"),
    RECALLED: _l("recalled"),
}
