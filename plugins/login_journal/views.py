from flask import Blueprint, render_template

from core.access import roles_required
from core.roles import ADMIN
from plugins.login_journal.services import recent_logins

bp = Blueprint("login_journal", __name__, template_folder="templates")


@bp.route("/login-journal")
@roles_required(ADMIN)
def journal():
    return render_template("login_journal/journal.html", entries=recent_logins())
