"""Pages of the warehouse."""
from flask import Blueprint

from core.access import roles_required
from core.roles import LOGISTICS_OFFICER, SITE_STAFF, VIEWER, WAREHOUSE_MANAGER

bp = Blueprint("warehouse", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/warehouse")


@bp.route("/scan")
@roles_required(WAREHOUSE_MANAGER, SITE_STAFF)
def scan():
    return "scan"


@bp.route("/stock")
@roles_required(WAREHOUSE_MANAGER, LOGISTICS_OFFICER, SITE_STAFF, VIEWER)
def stock():
    return "stock"


@bp.route("/moves")
@roles_required(WAREHOUSE_MANAGER, LOGISTICS_OFFICER, SITE_STAFF, VIEWER)
def moves():
    return "moves"
