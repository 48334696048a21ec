"""The roles of DESIGN §5. A user holds one role; admins pass every role check."""
from flask_babel import lazy_gettext as _l

ADMIN = "admin"
WAREHOUSE_MANAGER = "warehouse_manager"
LOGISTICS_OFFICER = "logistics_officer"
SITE_STAFF = "site_staff"
VIEWER = "viewer"
INTEGRATOR = "integrator"

LABELS = {
    ADMIN: _l("Administrator"),
    WAREHOUSE_MANAGER: _l("Warehouse manager"),
    LOGISTICS_OFFICER: _l("Logistics officer"),
    SITE_STAFF: _l("Vaccination site staff"),
    VIEWER: _l("Viewer"),
    INTEGRATOR: _l("Integrator (API)"),
}
ALL = tuple(LABELS)


def label(role):
    return LABELS.get(role, role)
