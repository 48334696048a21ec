"""Names shown to users for the shipment states (pages, API messages, services' errors)."""
from flask_babel import lazy_gettext as _l

from modules.transport.models import CANCELLED, CLOSED, DISPATCHED, DRAFT, PARTIALLY_RECEIVED, PICKED, RECEIVED

STATE_LABELS = {
    DRAFT: _l("Draft"),
    PICKED: _l("Picked"),
    DISPATCHED: _l("Dispatched"),
    RECEIVED: _l("Received"),
    PARTIALLY_RECEIVED: _l("Partially received"),
    CLOSED: _l("Closed"),
    CANCELLED: _l("Cancelled"),
}
