"""The daily tally of doses that count: after live registrations, backlog records, an import and a correction it
equals a fresh grouped count of the injections; it is written at commit, lost with a rollback, and rebuilt
from the injections when asked."""
from datetime import date

from sqlalchemy import select

from core.access import EVERYWHERE
from core.db import db
from modules.injection import services, tally
from modules.injection.backlog import importer
from modules.injection.models import AreaTally, DoseTally
from tests.injection.backlog.test_importer import row, xlsx
from tests.injection.test_register import at, person
from tests.warehouse.helpers import build_tree, days_from_today, receive_lot, vaccine_with_gtin


def test_the_tally_equals_a_fresh_count_after_registrations_an_import_and_a_correction(app, tmp_path):
    with app.test_request_context():
        tree = build_tree()
        vero = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=20)
        receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=10)
        lan, minh = person("Nguyễn Thị Lan"), person("Trần Văn Minh")
        services.record_backlog(lan, vero, tree.site_a, days_from_today(-30))
        services.register(lan, vero, tree.site_a, injected_at=at(days_ago=2))
        wrong = services.register(minh, vero, tree.site_a, injected_at=at(days_ago=2))
        db.session.commit()
        importer.run(xlsx(tmp_path / "backlog.xlsx", [
            row(),
            row("Trần Văn An", "Nam", date(1985, 1, 2), "001085000111", "0987654321",
                doses=(("AstraZeneca", "02/09/2021", "az1", "dt-px"),)),
        ]), "backlog.xlsx", EVERYWHERE)
        services.correct(wrong, "Nhập nhầm người")
        db.session.commit()

        stored = tally.stored_counts()
        assert stored == tally.fresh_counts()
        assert tally.stored_area_counts() == tally.fresh_area_counts() == {
            (day, tree.province.id, presentation, number): doses
            for (day, _site, presentation, number), doses in stored.items()}  # all at one province's site
        assert sum(stored.values()) == 5  # Lan's two, the import's three; Minh's was corrected
        assert (days_from_today(-2), tree.site_a.id, vero.presentation_id, 1) not in stored  # Minh's, corrected
        assert stored[date(2021, 8, 29), tree.site_a.id, vero.presentation_id, 2] == 1


def test_doses_of_a_transaction_rolled_back_are_not_tallied(app):
    with app.test_request_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        db.session.commit()
        services.register(person("Lê Văn Cường"), lot, tree.site_a, injected_at=at(days_ago=1))
        db.session.rollback()
        services.register(person("Phạm Thị Bình"), lot, tree.site_a, injected_at=at(days_ago=1))
        db.session.commit()
        assert db.session.scalars(select(DoseTally.doses)).all() == [1]


def test_the_tally_is_rebuilt_from_the_injections(app):
    with app.test_request_context():
        tree = build_tree()
        lot = receive_lot(tree.site_a, vaccine_with_gtin("VEROCELL"), "VC1", doses=5)
        for name in ("Lê Văn Cường", "Phạm Thị Bình"):
            services.register(person(name), lot, tree.site_a, injected_at=at(days_ago=1))
        db.session.commit()
        db.session.execute(DoseTally.__table__.update().values(doses=99))
        db.session.execute(AreaTally.__table__.update().values(doses=99))
        assert tally.rebuild() == 1
        db.session.commit()
        assert tally.stored_counts() == tally.fresh_counts() == {
            (days_from_today(-1), tree.site_a.id, lot.presentation_id, 1): 2}
        assert tally.stored_area_counts() == {(days_from_today(-1), tree.province.id, lot.presentation_id, 1): 2}
