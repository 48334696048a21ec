"""Who may reach every route, and how a record of another province is answered: the table the access
matrix checks. A route missing here fails ``test_every_route_has_a_row_in_the_table``: add its row,
deciding who may use it and whether its records belong to a location.

A row names the roles allowed (admins always are, and act everywhere), and for a route with ids or a
location in its URL whether another province's record is out of reach (``scoped``: 404) or shared by
design (the catalogue, users and locations administered by admins).
"""
from dataclasses import dataclass

from core.roles import ADMIN, INTEGRATOR, LOGISTICS_OFFICER, SITE_STAFF, VIEWER, WAREHOUSE_MANAGER

ANYONE = "anyone"  # public: logged in or not
ANY_USER = frozenset({ADMIN, WAREHOUSE_MANAGER, LOGISTICS_OFFICER, SITE_STAFF, VIEWER, INTEGRATOR})


@dataclass(frozen=True)
class Row:
    roles: object                # ANYONE, or the frozenset of roles allowed (admin added)
    scoped: bool = False         # another province's id in the URL is a 404
    own_status: int = 200        # GET with the own record, by an allowed role
    params: tuple = ()           # URL parameters -> world id names, when they differ from the parameter's name
    query: str = ""              # the query string a GET needs ("{code}": the side's site code)
    statuses: tuple = ()         # (role, status) where a role is answered otherwise, with the reason in a comment
    foreign_status: int = 404    # another province's record, for a scoped route


def allowed(*names):
    return frozenset({ADMIN, *names})


STAFF, WM, LO, VW, IN = SITE_STAFF, WAREHOUSE_MANAGER, LOGISTICS_OFFICER, VIEWER, INTEGRATOR
STOCK_READERS = allowed(LO, STAFF, VW, WM)
PLANNERS = allowed(LO, VW, WM)
PEOPLE_READERS = allowed(STAFF, VW, WM)
API_PEOPLE_READERS = allowed(IN, STAFF, VW, WM)

PAGES = {
    "core.home": Row(ANY_USER), "core.account": Row(ANY_USER), "core.logout": Row(ANY_USER),
    "core.login": Row(ANYONE, statuses=tuple((role, 302) for role in ANY_USER)),  # logged in: sent home
    "core.language": Row(ANYONE),
    "health.check": Row(ANYONE),  # for load balancers and monitoring: no session, no personal data
    "certificates.lookup": Row(ANYONE), "certificates.verify": Row(ANYONE),
    "core.audit_log": Row(allowed()), "core.modules": Row(allowed()), "core.users": Row(allowed()),
    "core.toggle_user": Row(allowed()), "login_journal.journal": Row(allowed()),
    "warehouse_admin.tree": Row(allowed()), "warehouse_admin.users": Row(allowed()),
    "warehouse_admin.unassign": Row(allowed()),
    "lots.presentations": Row(PLANNERS), "lots.presentation_new": Row(allowed()),
    "lots.presentation_edit": Row(allowed()), "lots.lot_list": Row(PLANNERS),
    "warehouse.stock": Row(STOCK_READERS), "warehouse.moves": Row(STOCK_READERS),
    # A lot is the catalogue's (number, vaccine, expiry, status, known nationwide as a recall is): its page
    # and recipients list show the stock, moves, holds and people of the reader's own locations only.
    "warehouse.lot_detail": Row(STOCK_READERS),
    "warehouse.hold_release": Row(allowed(STAFF, WM), scoped=True),
    # A lot's status holds nationwide: only a manager holding all of its doses decides it (403 otherwise).
    "warehouse.lot_recall": Row(allowed(WM), scoped=True, foreign_status=403),
    "warehouse.lot_status_change": Row(allowed(WM), scoped=True, foreign_status=403),
    "warehouse.adjust": Row(allowed(STAFF, WM)), "warehouse.transfer": Row(allowed(STAFF, WM)),
    "warehouse.count_index": Row(allowed(STAFF, WM), statuses=((STAFF, 302),)),  # one site: its count
    "warehouse.count": Row(allowed(STAFF, WM), scoped=True),
    "warehouse.scan": Row(allowed(STAFF, WM)), "warehouse.scan_check": Row(allowed(STAFF, WM)),
    "warehouse.scan_receive": Row(allowed(STAFF, WM)),
    "transport.shipments": Row(STOCK_READERS), "transport.shipment": Row(STOCK_READERS, scoped=True),
    "transport.new_shipment": Row(allowed(LO, WM)), "transport.receive_scan": Row(allowed(STAFF, WM)),
    "transport.receive": Row(allowed(STAFF, WM), scoped=True),
    "transport.cancel": Row(allowed(LO, WM), scoped=True), "transport.close": Row(allowed(LO, WM), scoped=True),
    "transport.dispatch": Row(allowed(LO, WM), scoped=True), "transport.repick": Row(allowed(LO, WM), scoped=True),
    "transport.details": Row(allowed(LO, WM), scoped=True),
    "transport.temperatures": Row(allowed(LO, STAFF, WM), scoped=True),
    "allocation.plans": Row(PLANNERS), "allocation.plan": Row(PLANNERS, scoped=True),
    "allocation.new_plan": Row(allowed(LO)), "allocation.target_populations": Row(PLANNERS),
    "allocation.approve": Row(allowed(LO), scoped=True), "allocation.cancel": Row(allowed(LO), scoped=True),
    "dashboard.overview": Row(PLANNERS),
    "reconciliation.index": Row(STOCK_READERS), "reconciliation.tally": Row(allowed(STAFF)),
    "reconciliation.recipients": Row(PLANNERS),
    "reminders.due": Row(PEOPLE_READERS),
    "injection.register": Row(allowed(STAFF)), "injection.close_session": Row(allowed(STAFF)),
    "injection.persons": Row(PEOPLE_READERS), "injection.person": Row(PEOPLE_READERS, scoped=True),
    "injection.edit_person": Row(allowed(STAFF), scoped=True),
    "injection.merge_person": Row(allowed(STAFF), scoped=True),
    "injection.correct_injection": Row(allowed(STAFF), scoped=True),
    "backlog.imports": Row(allowed(STAFF)), "backlog.template_file": Row(allowed(STAFF)),
    # An import is its uploader's only, not even an admin's to look into.
    "backlog.job": Row(allowed(STAFF), scoped=True, statuses=((ADMIN, 404),)),
    "backlog.status": Row(allowed(STAFF), scoped=True, statuses=((ADMIN, 404),)),
    "backlog.errors": Row(allowed(STAFF), scoped=True, own_status=404),  # the own import rejected no row
    # Webhook deliveries are the admins' log of what went to other systems, of no province. The world sends no
    # webhook (none configured), so an id there is nobody's: 404 to an admin, 403 to everyone else first.
    "webhooks.deliveries": Row(allowed()),
    "webhooks.delivery": Row(allowed(), own_status=404, params=(("delivery_id", "lot_id"),)),
    "webhooks.retry": Row(allowed(), own_status=404, params=(("delivery_id", "lot_id"),)),
}

API = {
    "api.core_api.openapi": Row(ANYONE), "api.core_api.me": Row(ANY_USER),
    "api.core_api.users": Row(allowed()), "api.core_api.audit_log": Row(allowed()),
    "api.injection.certificate_public_key": Row(ANYONE), "api.injection.certificate_verify": Row(ANYONE),
    "api.lots.vaccines": Row(ANY_USER), "api.lots.lot_labels": Row(allowed(IN, LO, WM)),  # catalogue facts
    "api.warehouse.location_list": Row(ANY_USER), "api.warehouse.lot_list": Row(ANY_USER),
    "api.warehouse.stock": Row(ANY_USER, query="location={code}"), "api.warehouse.move_list": Row(ANY_USER),
    "api.warehouse.hold_list": Row(ANY_USER),
    "api.warehouse.hold_release": Row(allowed(IN, STAFF, WM), scoped=True),
    "api.warehouse.receipt": Row(allowed(IN, WM)), "api.warehouse.adjustment": Row(allowed(IN, STAFF, WM)),
    "api.warehouse.transfer": Row(allowed(IN, LO, WM)),
    "api.warehouse.scan": Row(allowed(IN, LO, STAFF, WM)),
    "api.transport.shipment_list": Row(ANY_USER), "api.transport.show": Row(ANY_USER, scoped=True),
    "api.transport.manifest": Row(ANY_USER, scoped=True),
    "api.transport.create": Row(allowed(IN, LO, WM)),
    "api.transport.cancel": Row(allowed(IN, LO, WM), scoped=True),
    "api.transport.close": Row(allowed(IN, LO, WM), scoped=True),
    "api.transport.dispatch": Row(allowed(IN, LO, WM), scoped=True),
    "api.transport.update_details": Row(allowed(IN, LO, WM), scoped=True),
    "api.transport.repick": Row(allowed(IN, LO, WM), scoped=True),
    "api.transport.receive": Row(allowed(IN, STAFF, WM), scoped=True),
    "api.transport.temperatures": Row(allowed(IN, LO, STAFF, WM), scoped=True),
    "api.allocation.plan_list": Row(allowed(IN, LO, VW, WM)),
    "api.allocation.show": Row(allowed(IN, LO, VW, WM), scoped=True),
    "api.allocation.create": Row(allowed(IN, LO)),
    "api.allocation.approve": Row(allowed(IN, LO), scoped=True),
    "api.allocation.cancel": Row(allowed(IN, LO), scoped=True),
    "api.allocation.target_list": Row(allowed(IN, LO, VW, WM)),
    "api.allocation.target_set": Row(allowed(IN, LO), scoped=True, params=(("code", "unit_code"),)),
    "api.injection.register": Row(allowed(IN, STAFF)),
    "api.injection.injection_correct": Row(allowed(IN, STAFF), scoped=True),
    "api.injection.person_list": Row(API_PEOPLE_READERS, query="q={name}"),
    "api.injection.person_show": Row(API_PEOPLE_READERS, scoped=True),
    "api.injection.person_update": Row(allowed(IN, STAFF), scoped=True),
    "api.injection.person_merge": Row(allowed(IN, STAFF), scoped=True),
    "api.injection.certificate": Row(API_PEOPLE_READERS, scoped=True),
    "api.injection.certificate_pdf": Row(API_PEOPLE_READERS, scoped=True),
}

# Lists filtered by a location, and pages naming a record, in the query string: naming another province's is a
# 404 (or an empty answer). "{name}" is another province's value, "{own_name}" the caller's own.
FOREIGN_FILTERS = [
    "/stock?location={code}", "/stock?location={code}&format=xlsx", "/moves?location={code}",
    "/reconciliation?site={code}", "/reconciliation?site={code}&format=xlsx&table=daily",
    "/reconciliation?site={code}&format=xlsx&table=stock", "/due?site={code}", "/due?site={code}&format=xlsx",
    "/register?site={code}", "/shipments?location={code}", "/count/{code}",
    "/api/v1/stock?location={code}", "/api/v1/moves?location={code}", "/api/v1/lots?location={code}",
    "/api/v1/shipments?location={code}", "/api/v1/holds?location={code}",
    "/api/v1/moves?lot_id={lot_id}", "/api/v1/holds?lot_id={lot_id}",
    "/lots/{own_lot_id}/recipients?format=xlsx", "/lots/{lot_id}/recipients?format=xlsx",
    "/register?done={injection_id}", "/register?person={person_id}", "/register?person={due_person_id}",
    "/persons/{own_person_id}/merge?duplicate={person_id}",
]
# Searches: another province's people are found only by their full ID or phone number (someone at the desk).
FOREIGN_SEARCHES = ["/persons?q={name}", "/register?q={name}", "/api/v1/persons?q={name}",
                    "/persons/{own_person_id}/merge?q={name}"]
