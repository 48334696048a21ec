"""API bearer tokens. Tokens are 256-bit random strings, so a SHA-256 of them is a safe stored form
and a lookup by hash costs one indexed query."""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from core import audit
from core.db import Prepared, as_loaded, db, entity_columns, utcnow
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


# Every API request runs this query: the user with their token's dates, in one row.
USER_BY_TOKEN = Prepared(select(*entity_columns(User), ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at,
                                ApiToken.last_used_at)
                         .join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("hash")))
TOKEN_USED = (update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_at=bindparam("now"))
              .execution_options(synchronize_session=False))


def authenticate_token(secret):
    """The user a valid, unexpired, unrevoked token belongs to, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    found = USER_BY_TOKEN.first({"hash": digest(secret)})
    if found is None:
        return None
    user = as_loaded(User, found[:-4])
    token_id, expires_at, revoked_at, last_used_at = found[-4:]
    now = utcnow()
    if revoked_at is not None or not user.active or (expires_at is not None and expires_at <= now):
        return None
    if last_used_at is None or now - last_used_at > LAST_USED_GRANULARITY:
        db.session.execute(TOKEN_USED, {"token_id": token_id, "now": now})
        db.session.commit()
    return user


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
