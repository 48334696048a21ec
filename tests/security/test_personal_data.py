"""ID and phone numbers (health data is sensitive personal data under Decree 13/2023/NĐ-CP): lists and
searches show their last digits; the whole numbers go to those who identify and call people, on the page of
someone they cared for; exports of people are for the roles that need them, and each one is audited."""
import pytest
from sqlalchemy import select

from core.db import db
from core.models import AuditEntry
from modules.injection.exports import ACTION
from tests.security.probe import Caller, changes, readable, snapshot

LISTS = {  # role -> pages and endpoints listing people, "{name}": the start of an own person's name
    "viewer": ["/persons?q={name}", "/due", "/lots/{lot_id}/recipients", "/api/v1/persons?q={name}",
               "/api/v1/persons/{person_id}", "/persons/{person_id}?numbers=whole"],
    "warehouse_manager": ["/persons?q={name}", "/due", "/lots/{lot_id}/recipients", "/lots/{lot_id}",
                          "/api/v1/persons?q={name}", "/api/v1/persons/{person_id}",
                          "/persons/{person_id}?numbers=whole", "/lots/{lot_id}/recipients?format=xlsx"],
    "logistics_officer": ["/lots/{lot_id}/recipients", "/lots/{lot_id}"],
    "site_staff": ["/persons?q={name}", "/register?q={name}", "/persons/{person_id}",
                   "/persons/{person_id}/merge?q={name}", "/register?person={person_id}"],
}


@pytest.fixture(scope="module")
def caller(world_app, world, clients):
    return Caller(world_app, world, clients)


def whole_numbers(side):
    return [number for pair in side.people for number in pair]


def filled(template, side):
    return template.format(name=side.names[0].split()[0], lot_id=side.ids["lot_id"], person_id=side.ids["person_id"])


@pytest.mark.parametrize("role", sorted(LISTS))
def test_lists_searches_and_readers_pages_show_numbers_by_their_last_digits(world, caller, role):
    shown = []
    for template in LISTS[role]:
        response = caller.send(role, "GET", filled(template, world.own))
        assert response.status_code == 200, template
        shown += [(template, number) for number in whole_numbers(world.own) if number in readable(response)]
    assert shown == []


def test_site_staff_read_the_whole_numbers_on_the_page_of_someone_dosed_at_their_site(world, caller):
    url = f"/persons/{world.own.ids['person_id']}"
    national_id, phone = world.own.people[0]
    page = caller.send("site_staff", "GET", url).get_data(as_text=True)
    assert national_id not in page and f'href="{url}?numbers=whole"' in page
    whole = caller.send("site_staff", "GET", f"{url}?numbers=whole").get_data(as_text=True)
    assert national_id in whole and phone in whole


def test_site_staff_who_found_someone_of_another_province_by_id_register_them_but_read_last_digits(world, caller):
    national_id, phone = world.foreign.people[0]
    person_id = world.foreign.ids["person_id"]
    assert caller.send("site_staff", "GET", f"/register?person={person_id}").status_code == 404  # not found yet
    found = caller.send("site_staff", "GET", f"/register?q={national_id}").get_data(as_text=True)
    assert f"person={person_id}" in found and world.foreign.names[0] in found
    assert caller.send("site_staff", "GET", f"/register?person={person_id}").status_code == 200
    page = caller.send("site_staff", "GET", f"/persons/{person_id}?numbers=whole").get_data(as_text=True)
    assert world.foreign.names[0] in page and national_id not in page and phone not in page


@pytest.mark.parametrize("role", ["site_staff", "integrator"])
def test_registrars_find_someone_of_another_province_by_id_with_their_numbers_masked(world, caller, role):
    national_id, phone = world.foreign.people[0]
    found = caller.send(role, "GET", f"/api/v1/persons?national_id={national_id}").json["items"]
    assert [person["id"] for person in found] == [world.foreign.ids["person_id"]]
    assert (found[0]["national_id"], found[0]["phone"]) == ("••••••••" + national_id[-4:], "••••••" + phone[-4:])
    assert caller.send(role, "GET", f"/api/v1/persons/{world.foreign.ids['person_id']}").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "warehouse_manager"])
def test_readers_do_not_find_someone_of_another_province_even_by_id(world, caller, role):
    national_id, phone = world.foreign.people[0]
    for url in (f"/api/v1/persons?national_id={national_id}", f"/api/v1/persons?q={phone}"):
        assert caller.send(role, "GET", url).json["items"] == [], url
    page = caller.send(role, "GET", f"/persons?q={national_id}").get_data(as_text=True)
    assert world.foreign.names[0] not in page
    assert caller.send(role, "GET", f"/persons/{world.foreign.ids['person_id']}").status_code == 404


def test_the_api_gives_whole_numbers_to_site_staff_and_integrators_only(world, caller):
    national_id, phone = world.own.people[0]
    url = f"/api/v1/persons/{world.own.ids['person_id']}"
    for role in ("site_staff", "integrator"):
        assert caller.send(role, "GET", url).json["national_id"] == national_id
    for role in ("viewer", "warehouse_manager"):
        body = caller.send(role, "GET", url).json
        assert body["national_id"] == "••••••••" + national_id[-4:] and body["phone"] == "••••••" + phone[-4:]


EXPORTS = {"/due?format=xlsx": {"site_staff"},
           "/lots/{lot_id}/recipients?format=xlsx": {"warehouse_manager"}}


@pytest.mark.parametrize("template", sorted(EXPORTS))
def test_exports_of_people_are_for_the_roles_that_need_them(world, caller, template):
    url = filled(template, world.own)
    for role in ("site_staff", "warehouse_manager", "logistics_officer", "viewer"):
        answered = caller.send(role, "GET", url).status_code
        assert answered in ((200,) if role in EXPORTS[template] else (403,)), (role, answered)


def exports_audited(app):
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == ACTION)
                                     .order_by(AuditEntry.id)).all()
        return [(entry.actor, entry.object_id, entry.details["rows"]) for entry in entries]


def test_each_export_writes_one_audit_entry_naming_the_list_and_its_rows_and_nothing_else(world_app, world, caller):
    before, earlier = snapshot(world_app), len(exports_audited(world_app))
    due = caller.send("site_staff", "GET", "/due?format=xlsx")
    recipients = caller.send("warehouse_manager", "GET", filled("/lots/{lot_id}/recipients?format=xlsx", world.own))
    assert (due.status_code, recipients.status_code) == (200, 200)
    assert exports_audited(world_app)[earlier:] == [(world.usernames["site_staff"], "reminders.due", 1),
                       (world.usernames["warehouse_manager"], "reconciliation.recipients", 2)]
    assert set(changes(before, snapshot(world_app))) <= {"core_audit_log", "core_audit_pending", "core_audit_seal"}
