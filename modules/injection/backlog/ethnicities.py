"""The 54 ethnic groups of Vietnam (``data/ethnicities.csv``), in the General Statistics Office's order
(Decision 1019/QĐ-TCTK, 2008: code 01 Kinh … 54 Ơ Đu); what the template's "Dân tộc" list offers."""
import csv
import functools
import unicodedata
from pathlib import Path

ETHNICITIES_FILE = Path(__file__).resolve().parent.parent / "data" / "ethnicities.csv"


@functools.cache
def load_ethnicities(path=ETHNICITIES_FILE):
    """The names, NFC, in the file's order (a tuple: read once per process)."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        names = (unicodedata.normalize("NFC", row["name"].strip()) for row in csv.DictReader(file))
        return tuple(name for name in names if name)
