"""The delivery log, ``/admin/webhooks``: every delivery newest first, by status, with "send again" for a
failed one. Administrators only."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.access import roles_required
from core.db import db
from core.forms import ConfirmForm
from core.roles import ADMIN
from core.service_errors import ServiceError
from core.views import safe_next
from plugins.webhooks import services
from plugins.webhooks.models import DELIVERED, FAILED, PENDING, STATUSES, WebhooksDelivery

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks", template_folder="templates")
PAGE_SIZE = 50
STATUS_LABELS = {PENDING: _l("Pending"), DELIVERED: _l("Delivered"), FAILED: _l("Failed")}


@bp.route("/")
@roles_required(ADMIN)
def deliveries():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(404)
    page = services.deliveries_page(status, request.args.get("page", 1, type=int), PAGE_SIZE,
                                    lambda number: url_for(".deliveries", status=status, page=number))
    return render_template("webhooks/deliveries.html", page=page, status=status, labels=STATUS_LABELS,
                           endpoints=services.configured().endpoints, confirm=ConfirmForm())


@bp.route("/<int:delivery_id>")
@roles_required(ADMIN)
def delivery(delivery_id):
    found = db.get_or_404(WebhooksDelivery, delivery_id)
    return render_template("webhooks/delivery.html", delivery=found, labels=STATUS_LABELS, confirm=ConfirmForm())


@bp.route("/<int:delivery_id>/retry", methods=["POST"])
@roles_required(ADMIN)
def retry(delivery_id):
    found = db.get_or_404(WebhooksDelivery, delivery_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.retry_now(found, current_user)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Delivery %(id)d will be sent again at the worker's next pass.", id=found.id), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".deliveries"))
