"""The bundled reminder outbox: `vaxchain reminders send` queues one Vietnamese SMS per person and dose, in its
own table, for an SMS gateway to read; running it again queues nothing twice."""
import configparser
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import select

from core import schema
from core.db import db
from core.hookspecs import hookimpl
from modules.injection import reminders
from modules.injection.models import Person
from modules.lots.models import Lot
from modules.warehouse.models import Location
from plugins import reminder_outbox
from plugins.reminder_outbox import services
from plugins.reminder_outbox.models import QUEUED, ReminderOutboxMessage
from tests.conftest import VaxchainCliRunner
from tests.injection.test_reminders import PHONES, RemindersCommand, days, doses, make_world, person

ROOT = Path(__file__).resolve().parents[2]


def installed_through_the_entry_point():
    return any(ep.name == "reminder_outbox" for ep in metadata.entry_points(group="vaxchain.plugins"))


@pytest.fixture
def outbox_app(make_app):
    """The app with the plugin: through its entry point once the package metadata is rebuilt (``pip install -e
    .``), else registered for this test; its table is created if the test database predates it."""
    extra = [] if installed_through_the_entry_point() else [("reminder_outbox", reminder_outbox)]
    app = make_app(plugins=[*extra, ("reminders_cli", RemindersCommand())])
    with app.app_context():
        schema.upgrade()
    return app


@pytest.fixture
def world(outbox_app):
    return make_world(outbox_app)


def send(app, *args):
    result = VaxchainCliRunner(app).invoke(args=["reminders", "send", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def outbox(app):
    with app.app_context():
        return [(m.person_id, m.dose_number, m.phone, m.status, m.text) for m in db.session.scalars(
            select(ReminderOutboxMessage).order_by(ReminderOutboxMessage.id))]


def test_the_entry_point_is_declared_in_setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    assert "reminder_outbox = plugins.reminder_outbox" in config["options.entry_points"]["vaxchain.plugins"]


def test_it_is_registered_as_a_plugin_with_its_own_table(outbox_app):
    kinds = {info.name: info.kind for info in outbox_app.extensions["vaxchain"].plugins()}
    assert kinds["reminder_outbox"] == "plugin"
    with outbox_app.app_context():
        assert "reminder_outbox_0001" in schema.applied_revisions()


def test_people_due_with_a_phone_are_queued_once_however_often_it_runs(outbox_app, world):
    send(outbox_app, "--days-ahead", "7")  # Lan, Bình, Em, Hoa, Khánh are due; Em and Khánh have no phone
    first = outbox(outbox_app)
    assert sorted((person_id, dose, phone, status) for person_id, dose, phone, status, _text in first) == sorted([
        (world.ids["Lan"], 2, PHONES["Lan"], QUEUED), (world.ids["Bình"], 3, PHONES["Bình"], QUEUED),
        (world.ids["Hoa"], 3, PHONES["Hoa"], QUEUED)])
    send(outbox_app, "--days-ahead", "7")
    assert outbox(outbox_app) == first


def test_each_dose_of_a_series_is_reminded_once(outbox_app, world):
    def give_abdala(someone, days_ago):
        abdala = db.session.scalar(select(Lot).where(Lot.lot_number == "AB1"))
        doses(someone, (abdala, db.session.get(Location, world.site_a), days_ago))
        db.session.commit()

    with outbox_app.app_context():
        mai = person("Mai", phone="0977000222")
        give_abdala(mai, 20)  # dose 2 due 6 days ago
        mai_id = mai.id
    send(outbox_app)
    with outbox_app.app_context():
        give_abdala(db.session.get(Person, mai_id), 0)  # dose 2 today: dose 3 due in 14 days
    send(outbox_app, "--days-ahead", "14")
    assert [dose for person_id, dose, *_ in outbox(outbox_app) if person_id == mai_id] == [2, 3]


def test_the_text_is_vietnamese_in_one_gsm_sms(outbox_app, world):
    send(outbox_app, "--days-ahead", "7")
    texts = {person_id: text for person_id, _dose, _phone, _status, text in outbox(outbox_app)}
    lan = texts[world.ids["Lan"]]
    assert lan == (f"Nguyen Thi Lan: mui 2 vac xin Vaxzevria den han ngay {days(6):%d/%m/%Y} tai "
                   "Tram Y te phuong Phuc Xa. Moi anh/chi den tiem.")
    assert all(len(text) <= 160 and text.isascii() for text in texts.values())


def test_a_long_name_is_shortened_to_fit_160_characters(outbox_app):
    reminder = reminders.Reminder(1, "Tôn Nữ " * 30, "0912345678", 2, "Janssen COVID-19 Vaccine",
                                  date(2026, 12, 31), "DT-PX")
    with outbox_app.app_context():
        text = services.sms_text(reminder, "Trạm Y tế phường Phúc Xá, quận Ba Đình, Hà Nội")
    assert len(text) <= 160 and text.startswith("Ton Nu Ton Nu") and text.endswith("Moi anh/chi den tiem.")


class Broken:
    """A sender whose gateway is down (called after the outbox wrote its rows)."""

    @hookimpl(trylast=True)
    def doses_due(self, reminders):
        raise RuntimeError("gateway down")


def test_a_failing_sender_undoes_the_run(make_app, outbox_app, world):
    extra = [] if installed_through_the_entry_point() else [("reminder_outbox", reminder_outbox)]
    app = make_app(plugins=[*extra, ("broken", Broken()), ("reminders_cli", RemindersCommand())])
    result = VaxchainCliRunner(app).invoke(args=["reminders", "send"])
    assert result.exit_code != 0 and outbox(app) == []
