"""The core's pages: login and logout, home, account, language, and the admin pages."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from core import accounts, audit, i18n, login_sessions, plugins, rate_limit
from core.access import login_required, public, roles_required
from core.authentication import SESSION_TOKEN_KEY
from core.db import db
from core.forms import ConfirmForm, LanguageForm, LoginForm, PasswordForm, UserForm
from core.models import AuditEntry, User
from core.rate_limit import limited
from core.roles import ADMIN

bp = Blueprint("core", __name__)
AUDIT_PAGE = 50
# Logins per 10 minutes: from one address (a site's staff may share one), and for one username (a password
# guessed from many addresses); counted for unknown usernames alike, so the limit tells nothing about accounts.
LOGINS_PER_ADDRESS, LOGINS_PER_USERNAME, LOGIN_WINDOW_SECONDS = 60, 10, 600


def safe_next(target):
    """Only a path on this site, so a crafted link cannot send users elsewhere after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/")
@login_required
def home():
    return render_template("core/home.html")


@bp.route("/login", methods=["GET", "POST"])
@public
@limited("login", LOGINS_PER_ADDRESS, LOGIN_WINDOW_SECONDS)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        username = accounts.normalise_username(form.username.data)[:64]
        if not rate_limit.hit("login-username", LOGINS_PER_USERNAME, LOGIN_WINDOW_SECONDS, client=username):
            abort(429, _("Too many login attempts with this username: wait a few minutes and try again."))
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            audit.record("auth.login_failed", object_type="core_user", details={"username": username})
            db.session.commit()
            flash(_("Wrong username or password."), "error")
            return render_template("core/login.html", form=form), 401
        start_login_session(user)
        return redirect(safe_next(form.next.data) or url_for("core.home"))
    return render_template("core/login.html", form=form)


def start_login_session(user):
    """A fresh session (new cookie contents, new server-side token) for a verified user."""
    lang = session.get(i18n.SESSION_KEY)
    session.clear()
    token = login_sessions.open_session(user, request.remote_addr)
    session[SESSION_TOKEN_KEY] = token
    if lang and not user.locale:
        accounts.set_locale(user, lang)
    login_user(user)
    accounts.mark_login(user)
    audit.record("auth.login", user, user=user)
    plugins.hook().user_logged_in(user=user, remote_addr=request.remote_addr)
    db.session.commit()


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    login_sessions.end_session(session.get(SESSION_TOKEN_KEY))
    audit.record("auth.logout", current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("core.login"))


@bp.route("/language", methods=["POST"])
@public
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            try:
                accounts.set_locale(current_user, form.lang.data)
            except accounts.AccountError as exc:
                abort(400, exc.message)
            db.session.commit()
        elif form.lang.data in accounts.LOCALES:
            session[i18n.SESSION_KEY] = form.lang.data
    return redirect(safe_next(form.next.data) or url_for("core.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except accounts.AccountError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("core.account"))
    return render_template("core/account.html", form=form)


@bp.route("/admin/modules")
@roles_required(ADMIN)
def modules():
    platform = current_app.extensions["vaxchain"]
    return render_template("core/modules.html", platform=platform)


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required(ADMIN)
def users():
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.username.data, form.password.data, form.role.data,
                                        form.full_name.data)
        except accounts.AccountError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("core.users"))
    people = db.session.scalars(select(User).order_by(User.username)).all()
    return render_template("core/users.html", form=form, users=people, confirm=ConfirmForm())


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@roles_required(ADMIN)
def toggle_user(user_id):
    form = ConfirmForm()
    user = db.get_or_404(User, user_id)
    if form.validate_on_submit():
        if user.id == current_user.id:
            flash(_("You cannot deactivate your own account."), "error")
        else:
            accounts.set_active(user, not user.active)
            db.session.commit()
            flash(_("User %(name)s updated.", name=user.username), "success")
    return redirect(url_for("core.users"))


@bp.route("/admin/audit")
@roles_required(ADMIN)
def audit_log():
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)
    before = request.args.get("before", type=int)
    if before:
        query = query.where(AuditEntry.id < before)
    entries = db.session.scalars(query).all()
    older = entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None
    return render_template("core/audit.html", entries=entries[:AUDIT_PAGE], older=older)
