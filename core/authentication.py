"""How a request proves who it is: the login session cookie for pages, a bearer token for the API."""
from datetime import timedelta

from flask import current_app, g, request, session

from core import login_sessions, tokens
from core.extensions import login_manager

SESSION_TOKEN_KEY = "sid"


def init_app(app):
    login_manager.init_app(app)
    login_manager.session_protection = None  # server-side login sessions do this job (and more)
    login_manager.user_loader(load_session_user)
    login_manager.request_loader(load_token_user)


def load_session_user(user_id):
    if request.authorization is not None:
        return None  # a request that sends a token is judged by the token alone
    timeout = timedelta(minutes=current_app.config["VAXCHAIN_IDLE_TIMEOUT_MINUTES"])
    user = login_sessions.find_user(session.get(SESSION_TOKEN_KEY), user_id, timeout)
    if user is None:
        session.clear()
    return user


def load_token_user(req):
    auth = req.authorization
    if auth is None or auth.type != "bearer":
        return None
    user = tokens.authenticate_token(auth.token)
    g.token_rejected = user is None
    g.authenticated_by_token = user is not None
    return user
