"""The audit log's seal: a keyed hash chain that makes any altered or deleted entry visible.

Each entry, once committed, is given a *seal*: its position in the chain (1, 2, 3… with no gap) and
``HMAC(key, previous seal, position, entry)``. Changing an entry breaks its own seal; deleting one
leaves its seal pointing at nothing; deleting a seal leaves a gap in the positions; rewriting seals
needs the key, which is not in the database.

Sealing happens after the business transaction has committed, in a short transaction of its own
(``seal``), so that commits are not queued behind one another while they write to disk: writers only
add their entries' ids to ``core_audit_pending``, in the same transaction as the change. One sealer at a
time extends the chain (an advisory lock on PostgreSQL, the write lock on SQLite), without waiting for
the disk (a seal lost in a crash is made again from the pending list). ``verify`` seals what is
pending, then walks the whole chain.

What the chain cannot show by itself: the *last* entries removed together with their seals (keep the
head that ``vaxchain audit verify`` prints, e.g. with each backup, and pass it back with ``--head``).
"""
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select, text

from core.db import insert_rows
from core.models import AuditEntry, AuditPending, AuditSeal

SEAL_LOCK = 7_270_301  # PostgreSQL advisory lock key: one sealer at a time
BATCH = 5_000
ENTRY_COLUMNS = (AuditEntry.id, AuditEntry.at, AuditEntry.user_id, AuditEntry.actor, AuditEntry.action,
                 AuditEntry.object_type, AuditEntry.object_id, AuditEntry.details)


def chain_key(config):
    """The key the chain is made with: ``VAXCHAIN_AUDIT_KEY``, else one derived from the secret key."""
    configured = config.get("VAXCHAIN_AUDIT_KEY")
    if configured:
        return configured.encode()
    return hmac.new(config["SECRET_KEY"].encode(), b"vaxchain audit chain", hashlib.sha256).digest()


def canonical(entry):
    """One entry as stable bytes: the same on SQLite and PostgreSQL, and after a backup's restore."""
    entry_id, at, user_id, actor, action, object_type, object_id, details = entry
    return json.dumps([entry_id, at.strftime("%Y-%m-%dT%H:%M:%S.%f"), user_id, actor, action, object_type,
                       object_id, details], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(key, previous, position, entry):
    message = f"{previous}\n{position}\n".encode() + canonical(entry)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def last_seal(column):
    """``column`` of the chain's last seal, as a value every row of a query carries (saves a query)."""
    return select(column).order_by(AuditSeal.position.desc()).limit(1).scalar_subquery()


# Built once: a seal runs after every commit that wrote entries, and building statements costs more than
# running these.
LOCK_QUIETLY = text("SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(:key)")
CLAIM_PENDING = delete(AuditPending).returning(AuditPending.entry_id)
ENTRIES_AFTER_HEAD = (select(*ENTRY_COLUMNS, last_seal(AuditSeal.position), last_seal(AuditSeal.chain))
                      .where(AuditEntry.id.in_(bindparam("ids", expanding=True))).order_by(AuditEntry.id))


def seal(engine, key):
    """Give every pending entry its seal, in id order; returns how many were sealed."""
    with engine.connect().execution_options(writes=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(LOCK_QUIETLY, {"key": SEAL_LOCK})
        ids = sorted(connection.execute(CLAIM_PENDING).scalars())
        seals, position, chain = [], None, ""
        for start in range(0, len(ids), BATCH):
            for *entry, head_position, head_chain in connection.execute(ENTRIES_AFTER_HEAD,
                                                                        {"ids": ids[start:start + BATCH]}):
                if position is None:
                    position, chain = head_position or 0, head_chain or ""
                position += 1
                chain = link(key, chain, position, tuple(entry))
                seals.append((position, entry[0], chain))
        insert_rows(connection, AuditSeal.__table__, ("position", "entry_id", "chain"), seals)  # COPY on PostgreSQL
        return len(seals)


def head(engine, key):
    """Seal what is pending and return the chain's last link as ``"POSITION:CHAIN"`` ("0:" if empty)."""
    seal(engine, key)
    with engine.connect() as connection:
        last = connection.execute(select(AuditSeal.position, AuditSeal.chain)
                                  .order_by(AuditSeal.position.desc()).limit(1)).first()
    return f"{last.position}:{last.chain}" if last else "0:"


@dataclass
class Verdict:
    """What ``verify`` found: ``problems`` is empty when the log is intact."""

    sealed: int = 0
    head: str = ""
    problems: list = field(default_factory=list)


def verify(engine, key, expected_head=None):
    """Seal what is pending, then recompute the whole chain and compare it with every entry and seal.

    ``expected_head`` (``"POSITION:CHAIN"``, as printed before) checks that the chain still holds that
    link, so that entries removed from the end show too.
    """
    seal(engine, key)
    verdict = Verdict()
    previous, position = "", 0
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=BATCH).execute(
            select(AuditSeal.position, AuditSeal.entry_id, AuditSeal.chain, *ENTRY_COLUMNS[1:])
            .outerjoin(AuditEntry, AuditEntry.id == AuditSeal.entry_id).order_by(AuditSeal.position))
        for sealed_position, entry_id, chain, at, *rest in rows:
            position += 1
            gap = sealed_position != position
            if gap:  # the link after a gap cannot be checked: its previous seal is gone
                verdict.problems.append(("seals_missing", position, sealed_position - 1))
                position = sealed_position
            if at is None:
                verdict.problems.append(("entry_deleted", entry_id, position))
            elif not gap and link(key, previous, position, (entry_id, at, *rest)) != chain:
                verdict.problems.append(("entry_altered", entry_id, position))
            previous = chain
        verdict.sealed, verdict.head = position, f"{position}:{previous}"
        unsealed = connection.execute(select(AuditEntry.id).outerjoin(AuditSeal, AuditSeal.entry_id == AuditEntry.id)
                                      .where(AuditSeal.entry_id.is_(None)).order_by(AuditEntry.id).limit(100))
        verdict.problems.extend(("entry_unsealed", entry_id, None) for entry_id in unsealed.scalars())
        if expected_head:
            verdict.problems.extend(head_problems(connection, expected_head))
    return verdict


def head_problems(connection, expected_head):
    position, _, chain = expected_head.partition(":")
    found = connection.execute(select(AuditSeal.chain).where(AuditSeal.position == int(position))).scalar()
    return [] if found == chain else [("head_lost", int(position), None)]
