"""Reading writes nothing: every GET route, with every role's own and another province's ids, leaves every
table as it was — but for the bookkeeping of reading itself (``probe.BOOKKEEPING``: when a login session
or a token was last used, and the rate limits' counters)."""
from tests.conftest import ALL_ROLES
from tests.security.probe import Caller, changes, routes, snapshot, url_for_side
from tests.security.test_access_matrix import ROWS


def test_no_get_request_changes_anything_whoever_sends_it(world_app, world, clients):
    caller = Caller(world_app, world, clients)
    before, sent = snapshot(world_app), 0
    for rule, method in routes(world_app):
        if method != "GET":
            continue
        row = ROWS[rule.endpoint]
        for ids in (world.own.ids, world.foreign.ids):
            url = url_for_side(rule, ids, row, own=world.own)
            for role in (*ALL_ROLES, None):
                assert caller.send(role, "GET", url).status_code < 500, (url, role)
                sent += 1
    assert sent > 700
    assert changes(before, snapshot(world_app)) == {}
