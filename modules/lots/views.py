"""Pages of the vaccine catalogue and lots."""
from flask import Blueprint, render_template

from core.access import roles_required
from core.roles import LOGISTICS_OFFICER, VIEWER, WAREHOUSE_MANAGER
from modules.lots import services

bp = Blueprint("lots", __name__, template_folder="templates")
READERS = (WAREHOUSE_MANAGER, LOGISTICS_OFFICER, VIEWER)


@bp.route("/catalogue")
@roles_required(*READERS)
def presentations():
    return render_template("lots/presentations.html", presentations=services.list_presentations())


@bp.route("/lots")
@roles_required(*READERS)
def lot_list():
    return render_template("lots/lots.html", lots=[])
