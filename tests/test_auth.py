"""Logging in and out, sessions, passwords and CSRF, as a user at a browser meets them."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core import rate_limit, roles
from core.accounts import find_user
from core.db import db
from core.models import AuditEntry, LoginSession, User
from tests.conftest import CSRF_FIELD, PASSWORD, PRODUCTION_HASHER, csrf_token, log_in


def test_login_with_right_password_opens_the_home_page(client, make_user):
    username = make_user(roles.SITE_STAFF, full_name="Lê Văn Tiêm")
    response = log_in(client, username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Lê Văn Tiêm" in client.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    username = make_user(roles.VIEWER)
    wrong_password = log_in(client, username, "not-the-password-1")
    unknown_user = log_in(client, "nobody-here", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    for response in (wrong_password, unknown_user):
        assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.get_data(as_text=True)


def test_failed_login_is_audited_without_the_password(app, client, make_user):
    username = make_user(roles.VIEWER)
    log_in(client, username, "guess-guess-1")
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")).one()
        assert entry.details == {"username": username}


def test_deactivated_user_cannot_log_in(app, client, make_user):
    username = make_user(roles.VIEWER)
    with app.app_context():
        db.session.execute(update(User).where(User.username == username).values(active=False))
        db.session.commit()
    assert log_in(client, username).status_code == 401


def test_login_renews_the_session_cookie(client, make_user):
    username = make_user(roles.VIEWER)
    client.get("/login")
    before = client.get_cookie("vaxchain_session").value
    log_in(client, username)
    after = client.get_cookie("vaxchain_session")
    assert after.value != before
    assert after.http_only and after.same_site == "Lax"


def test_logout_ends_the_session_on_the_server(app, client, make_user):
    username = make_user(roles.VIEWER)
    log_in(client, username)
    stolen = client.get_cookie("vaxchain_session").value
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    replay = app.test_client()
    replay.set_cookie("vaxchain_session", stolen)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_idle_session_expires(app, client, make_user):
    username = make_user(roles.VIEWER)
    log_in(client, username)
    assert client.get("/").status_code == 200
    with app.app_context():
        idle = timedelta(minutes=app.config["VAXCHAIN_IDLE_TIMEOUT_MINUTES"] + 1)
        session_row = db.session.scalars(select(LoginSession)).one()
        session_row.last_seen_at = session_row.last_seen_at - idle
        db.session.commit()
    assert client.get("/").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(LoginSession)).one().ended_at is not None


def test_login_redirects_only_to_pages_of_this_site(client, make_user):
    username = make_user(roles.VIEWER)
    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_anonymous_visitor_is_sent_to_login_with_the_page_to_return_to(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/users"


def test_form_without_csrf_token_is_refused(client, make_user):
    username = make_user(roles.VIEWER)
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)


def test_form_with_forged_csrf_token_is_refused(client, make_user):
    username = make_user(roles.VIEWER)
    client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": "IjEyMyI.forged.token"})
    assert response.status_code == 400


def test_passwords_are_stored_as_argon2id(app, make_user):
    username = make_user(roles.VIEWER)
    with app.app_context():
        assert find_user(username).password_hash.startswith("$argon2id$")


def test_production_hashes_use_the_rfc_9106_low_memory_profile():
    """The tests' own process hashes cheaply (tests/conftest.py); a server hashes with RFC 9106's profile."""
    assert PRODUCTION_HASHER.hash("a-password-1").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_changing_password_checks_the_current_one_and_the_policy(app, client, login_as):
    username = login_as(roles.SITE_STAFF)
    token = csrf_token(client, "/account")
    wrong = client.post("/account", data={"csrf_token": token, "current_password": "nope-nope-1",
                                          "new_password": "a-much-better-one-7", "confirm": "a-much-better-one-7"})
    assert "Mật khẩu hiện tại không đúng" in wrong.get_data(as_text=True)
    weak = client.post("/account", data={"csrf_token": token, "current_password": PASSWORD,
                                         "new_password": "short", "confirm": "short"})
    assert "ít nhất 10 ký tự" in weak.get_data(as_text=True)
    good = client.post("/account", data={"csrf_token": token, "current_password": PASSWORD,
                                         "new_password": "a-much-better-one-7", "confirm": "a-much-better-one-7"})
    assert good.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert log_in(client, username, "a-much-better-one-7").status_code == 302


def test_login_and_logout_are_audited(app, client, make_user):
    username = make_user(roles.VIEWER)
    log_in(client, username)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == username).order_by(AuditEntry.id)).all()
    assert actions == ["auth.login", "auth.logout"]


@pytest.fixture
def one_window(monkeypatch):
    """Every attempt in one rate-limit window, however long the test takes (windows are fixed)."""
    monkeypatch.setattr(rate_limit, "utcnow", lambda: datetime(2026, 11, 26, 3, 1, tzinfo=UTC))


def test_guessing_one_users_password_is_stopped_even_with_the_right_one(client, make_user, one_window):
    username = make_user(roles.VIEWER)
    statuses = [log_in(client, username, f"guess-number-{n}").status_code for n in range(10)]
    assert set(statuses) == {401}
    stopped = log_in(client, username)
    assert stopped.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in stopped.get_data(as_text=True)


def test_the_username_limit_says_nothing_about_whether_the_account_exists(client, make_user, one_window):
    for username in (make_user(roles.VIEWER), "nobody-here"):
        statuses = [log_in(client, username, f"guess-number-{n}").status_code for n in range(11)]
        assert statuses == [401] * 10 + [429], username


def test_one_address_trying_many_usernames_is_stopped(client, one_window):
    statuses = [log_in(client, f"user{n}", PASSWORD).status_code for n in range(61)]
    assert statuses == [401] * 60 + [429]


def test_behind_tls_the_session_cookie_is_secure_and_browsers_are_told_to_stay_on_https(make_app, make_user):
    app = make_app(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    with app.app_context():
        username = make_user(roles.VIEWER)
    https = "https://vaxchain.example"
    page = client.get("/login", base_url=https).get_data(as_text=True)
    token = CSRF_FIELD.search(page).group(1)
    response = client.post("/login", base_url=https, headers={"Referer": f"{https}/login"},
                           data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in make_app().test_client().get("/login").headers
