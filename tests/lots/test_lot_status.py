"""The lot status machine (modules.lots.services.change_status and recall): every transition of
TRANSITIONS allowed, every other refused, a reason required, history and audit written."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import roles
from core.accounts import create_user
from core.clock import local_today
from core.db import db
from core.models import AuditEntry
from core.service_errors import ConflictError, ServiceError
from modules.lots import services as lots
from modules.lots.models import (
    AVAILABLE,
    DISCARDED,
    QUARANTINED,
    RECALLED,
    RELEASED,
    STATUSES,
    TRANSITIONS,
    StatusChange,
)
from tests.conftest import PASSWORD

REASON = "Temperature excursion on delivery"
# How a new (available) lot reaches each status through allowed transitions.
PATHS = {
    AVAILABLE: (),
    QUARANTINED: (QUARANTINED,),
    RELEASED: (QUARANTINED, RELEASED),
    RECALLED: (RECALLED,),
    DISCARDED: (QUARANTINED, DISCARDED),
}
ALLOWED = [(start, end) for start in STATUSES for end in TRANSITIONS[start]]
REFUSED = [(start, end) for start in STATUSES for end in STATUSES if end not in TRANSITIONS[start]]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def manager(ctx):
    user = create_user("kho.qg", PASSWORD, roles.WAREHOUSE_MANAGER)
    db.session.commit()
    return user


def lot_at(status, number="VC001"):
    """A Vero Cell lot brought to ``status`` by the status machine itself, committed."""
    lot = lots.create_lot(lots.presentation_by_code("VEROCELL"), number, local_today() + timedelta(days=300))
    for step in PATHS[status]:
        lots.change_status(lot, step, "Set up for the test")
    db.session.commit()
    return lot


def counts():
    return (db.session.scalar(select(func.count()).select_from(StatusChange)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


def test_the_paths_used_here_reach_their_status():
    assert set(PATHS) == set(STATUSES)
    for status, path in PATHS.items():
        steps = list(zip((AVAILABLE, *path), path, strict=False))  # the first list is one longer
        assert all(end in TRANSITIONS[start] for start, end in steps) and (path[-1:] or (AVAILABLE,)) == (status,)


def test_the_machine_is_the_one_of_the_design():
    assert TRANSITIONS[AVAILABLE] == (QUARANTINED, RECALLED)
    assert set(TRANSITIONS[QUARANTINED]) == {RELEASED, DISCARDED, RECALLED}
    assert TRANSITIONS[DISCARDED] == ()


@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_an_allowed_change_is_made_kept_in_the_history_and_audited(manager, start, end):
    lot = lot_at(start)
    history_before = len(lots.status_history(lot))

    lots.change_status(lot, end, f"  {REASON}  ", user=manager)
    db.session.commit()

    assert db.session.get(type(lot), lot.id).status == end
    history = lots.status_history(lot)
    assert len(history) == history_before + 1
    last = history[-1]
    assert (last.from_status, last.to_status, last.reason, last.user_id) == (start, end, REASON, manager.id)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "lot.status")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.object_id == str(lot.id) and entry.actor == manager.username
    assert entry.details == {"from": start, "to": end, "reason": REASON}


@pytest.mark.parametrize(("start", "end"), REFUSED)
def test_a_change_outside_the_machine_is_refused_and_writes_nothing(ctx, start, end):
    lot = lot_at(start)
    before = counts()

    with pytest.raises(ConflictError) as refused:
        lots.change_status(lot, end, REASON)

    assert refused.value.code == "bad_transition" and refused.value.field == "status"
    assert lot.status == start
    assert counts() == before


@pytest.mark.parametrize("reason", ["", "   ", "ok", None, " \t\n "])
def test_a_reason_is_required(ctx, reason):
    lot = lot_at(AVAILABLE)
    before = counts()

    with pytest.raises(ServiceError) as refused:
        lots.change_status(lot, QUARANTINED, reason)

    assert refused.value.code == "reason_required" and refused.value.field == "reason"
    assert lot.status == AVAILABLE and counts() == before


def test_the_reason_is_kept_single_spaced(ctx):
    lot = lot_at(AVAILABLE)

    lots.change_status(lot, QUARANTINED, "VVM   stage\n3 on  arrival")

    assert lots.status_history(lot)[-1].reason == "VVM stage 3 on arrival"


def test_an_unknown_status_is_refused(ctx):
    lot = lot_at(AVAILABLE)

    with pytest.raises(ServiceError) as refused:
        lots.change_status(lot, "expired", REASON)

    assert refused.value.code == "unknown_status" and lot.status == AVAILABLE


def test_without_a_user_the_audit_names_the_system(ctx):
    lot = lot_at(AVAILABLE)

    lots.change_status(lot, QUARANTINED, REASON)
    db.session.commit()

    assert lots.status_history(lot)[-1].user_id is None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "lot.status")).one()
    assert entry.actor == "system"


@pytest.mark.parametrize("start", [AVAILABLE, QUARANTINED, RELEASED])
def test_recall_makes_a_lot_recalled_with_its_reason(manager, start):
    lot = lot_at(start)

    lots.recall(lot, "Recall notice from the manufacturer", user=manager)
    db.session.commit()

    assert lot.status == RECALLED and not lot.is_usable(local_today())
    last = lots.status_history(lot)[-1]
    assert (last.from_status, last.to_status, last.reason) == (start, RECALLED, "Recall notice from the manufacturer")


@pytest.mark.parametrize("start", [RECALLED, DISCARDED])
def test_a_recalled_or_discarded_lot_cannot_be_recalled_again(ctx, start):
    lot = lot_at(start)
    before = counts()

    with pytest.raises(ConflictError):
        lots.recall(lot, "Recall notice from the manufacturer")

    assert lot.status == start and counts() == before


def test_a_recall_needs_a_reason(ctx):
    lot = lot_at(AVAILABLE)

    with pytest.raises(ServiceError) as refused:
        lots.recall(lot, "")

    assert refused.value.code == "reason_required" and lot.status == AVAILABLE


@pytest.mark.parametrize(("status", "usable"), [(AVAILABLE, True), (RELEASED, True), (QUARANTINED, False),
                                                (RECALLED, False), (DISCARDED, False)])
def test_only_available_and_released_lots_are_usable(ctx, status, usable):
    assert lot_at(status).is_usable(local_today()) is usable


def test_a_lot_is_usable_on_its_expiry_day_and_expired_the_day_after(ctx):
    lot = lot_at(AVAILABLE)
    today = local_today()

    assert lot.is_usable(lot.expiry) and not lot.is_expired(lot.expiry)
    assert lot.is_expired(lot.expiry + timedelta(days=1)) and not lot.is_usable(lot.expiry + timedelta(days=1))
    assert not lot.is_expired(today)


def test_the_history_lists_every_change_in_order(manager):
    lot = lot_at(AVAILABLE)

    for end in (QUARANTINED, RELEASED, QUARANTINED, DISCARDED):
        lots.change_status(lot, end, REASON, user=manager)
    db.session.commit()

    steps = [(change.from_status, change.to_status) for change in lots.status_history(lot)]
    assert steps == [(AVAILABLE, QUARANTINED), (QUARANTINED, RELEASED), (RELEASED, QUARANTINED),
                     (QUARANTINED, DISCARDED)]
