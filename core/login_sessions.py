"""Server-side login sessions behind the signed cookie: renewed on login, ended on logout or when idle."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.db import db, utcnow
from core.models import LoginSession

# last_seen_at is written at most this often, so ordinary page views do not each cost a write
TOUCH_GRANULARITY = timedelta(minutes=1)


def _digest(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def open_session(user, remote_addr=None):
    """Start a login session; returns the token to keep in the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token_hash=_digest(token), user_id=user.id, remote_addr=remote_addr))
    return token


def find_user(token, user_id, idle_timeout):
    """The user of a live session, or None; a session idle for longer than ``idle_timeout`` is ended."""
    if not token or not user_id or not str(user_id).isdigit():
        return None
    login = db.session.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.token_hash == _digest(token), LoginSession.user_id == int(user_id))
    )
    if login is None or login.ended_at is not None or not login.user.active:
        return None
    now = utcnow()
    if now - login.last_seen_at > idle_timeout:
        login.ended_at = now
        db.session.commit()
        return None
    if now - login.last_seen_at > TOUCH_GRANULARITY:
        login.last_seen_at = now
        db.session.commit()
    return login.user


def end_session(token):
    if not token:
        return
    login = db.session.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))
    if login is not None and login.ended_at is None:
        login.ended_at = utcnow()
