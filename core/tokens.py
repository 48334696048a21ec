"""API bearer tokens. Tokens are 256-bit random strings, so a SHA-256 of them is a safe stored form
and a lookup by hash costs one indexed query."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from core import audit
from core.db import db, utcnow
from core.models import ApiToken, User

TOKEN_PREFIX = "vxc_"
LAST_USED_GRANULARITY = timedelta(minutes=5)


def digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user, name="", expires_in_days=None, actor=None):
    """Create a token for ``user``; returns ``(ApiToken, secret)``. The secret is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=digest(secret),
        prefix=secret[:10],
        name=name,
        user_id=user.id,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", token, user=actor, details={"user": user.username, "name": name})
    return token, secret


# Every API request runs this query: built once (building it cost as much as running it).
TOKEN_BY_HASH = select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == bindparam("hash"))


def authenticate_token(secret):
    """The user a valid, unexpired, unrevoked token belongs to, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(TOKEN_BY_HASH, {"hash": digest(secret)})
    now = utcnow()
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        token.last_used_at = now
        db.session.commit()
    return token.user


def list_tokens(username=None):
    """Tokens, newest first, of one user or of all."""
    query = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if username:
        query = query.join(ApiToken.user).where(User.username == username.strip().lower())
    return db.session.scalars(query).all()


def revoke_token(token, actor=None):
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", token, user=actor)
