"""The import template's columns (DESIGN §4) and how a file's headers are matched to them.

Headers are compared folded (no accents, lower case, single spaces, punctuation as spaces), so
"NGÀY SINH", "ngay sinh" and "Ngày  sinh " are one header; each column also has the synonyms people
type ("CMND/CCCD", "Ngày tiêm M1", "SĐT").
"""
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from modules.injection.identity import fold

DOSES = 4  # dose groups mũi 1…4


@dataclass(frozen=True)
class Column:
    key: str            # the field it fills: "full_name", "dose_date_1"...
    header: str         # as written in the template (Vietnamese, DESIGN §4)
    label: object       # the field's name in messages, translated
    required: bool = False
    kind: str = "text"  # text | date | id (digits kept as text) | choice
    synonyms: tuple = ()
    dose: int | None = None


PERSON_COLUMNS = (
    Column("full_name", "Họ và tên", _l("Full name"), True, synonyms=("Họ tên", "Tên", "Họ và tên người tiêm")),
    Column("gender", "Giới tính", _l("Gender"), True, "choice", synonyms=("Giới", "Phái")),
    Column("date_of_birth", "Ngày sinh", _l("Date of birth"), True, "date",
           synonyms=("Ngày tháng năm sinh", "Ngày/tháng/năm sinh", "NTNS")),
    Column("phone", "Số điện thoại", _l("Phone"), kind="id", synonyms=("SĐT", "Điện thoại", "Di động", "SDT")),
    Column("national_id", "Số CCCD/CMND", _l("ID number"), kind="id",
           synonyms=("CCCD/CMND", "CMND/CCCD", "CCCD", "CMND", "Số CMND/CCCD", "Số CCCD", "Số CMND",
                     "Số định danh", "CMND/CCCD/Hộ chiếu", "Số giấy tờ tùy thân")),
    Column("insurance_number", "Số thẻ BHYT", _l("Health insurance number"), kind="id",
           synonyms=("BHYT", "Mã thẻ BHYT", "Số BHYT")),
    Column("ethnicity", "Dân tộc", _l("Ethnicity"), kind="choice"),
    Column("nationality", "Quốc tịch", _l("Nationality")),
    Column("province", "Tỉnh/Thành phố", _l("Province"), kind="choice", synonyms=("Tỉnh", "Tỉnh/TP", "Tỉnh thành")),
    Column("district", "Quận/Huyện", _l("District"), synonyms=("Quận", "Huyện", "Quận/Huyện/Thị xã")),
    Column("ward", "Phường/Xã", _l("Ward"), synonyms=("Phường", "Xã", "Phường/Xã/Thị trấn")),
    Column("address", "Địa chỉ chi tiết", _l("Address"), synonyms=("Địa chỉ", "Số nhà, đường")),
)


def dose_columns(number):
    """Loại vắc xin mũi k, Ngày tiêm mũi k, Lô vắc xin mũi k, Mã cơ sở tiêm mũi k."""
    short = f"M{number}"
    return (
        Column(f"vaccine_{number}", f"Loại vắc xin mũi {number}", _l("Vaccine, dose %(n)s", n=number),
               kind="choice", dose=number,
               synonyms=(f"Vắc xin mũi {number}", f"Tên vắc xin mũi {number}", f"Loại vắc xin {short}",
                         f"Vắc xin {short}")),
        Column(f"date_{number}", f"Ngày tiêm mũi {number}", _l("Injection date, dose %(n)s", n=number),
               kind="date", dose=number, synonyms=(f"Ngày tiêm {short}", f"Ngày tiêm lần {number}")),
        Column(f"lot_{number}", f"Lô vắc xin mũi {number}", _l("Lot, dose %(n)s", n=number), dose=number,
               synonyms=(f"Số lô mũi {number}", f"Lô {short}", f"Số lô {short}", f"Lô vắc xin {short}")),
        Column(f"site_{number}", f"Mã cơ sở tiêm mũi {number}", _l("Site code, dose %(n)s", n=number),
               dose=number, synonyms=(f"Mã cơ sở {short}", f"Cơ sở tiêm mũi {number}", f"Mã điểm tiêm mũi {number}",
                                      f"Mã cơ sở tiêm {short}")),
    )


COLUMNS = PERSON_COLUMNS + tuple(column for number in range(1, DOSES + 1) for column in dose_columns(number))
BY_KEY = {column.key: column for column in COLUMNS}
_PUNCTUATION = re.compile(r"[^\w]+")


def header_key(text):
    """The form a header is compared in: folded, punctuation as spaces ("Số CCCD/CMND" → "so cccd cmnd")."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


# Columns people add that carry nothing to import: the row number, and the error column of our error file.
IGNORED = frozenset(header_key(name) for name in ("STT", "TT", "Số thứ tự", "Lỗi", "Ghi chú lỗi"))
ERROR_HEADER = "Lỗi"

MATCHES = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.synonyms):
        assert MATCHES.setdefault(header_key(_name), _column.key) == _column.key, _name


@dataclass(frozen=True)
class HeaderMap:
    """Where each known column is in a file (0-based), and the headers nobody knows."""

    positions: dict   # key → column index
    unknown: tuple    # (index, header as typed)
    repeated: tuple   # (index, header as typed) naming a column already found


def match_headers(headers):
    """Map a file's header row to the template's columns (see the module's doc)."""
    positions, unknown, repeated = {}, [], []
    for index, header in enumerate(headers):
        text = "" if header is None else str(header).strip()
        if not text:
            continue
        folded = header_key(text)
        if folded in IGNORED:
            continue
        key = MATCHES.get(folded)
        if key is None:
            unknown.append((index, text))
        elif key in positions:
            repeated.append((index, text))
        else:
            positions[key] = index
    return HeaderMap(positions, tuple(unknown), tuple(repeated))


def missing_required(header_map):
    """Required columns the file lacks: the person's, and for doses the date, vaccine and site of dose 1."""
    needed = [column for column in PERSON_COLUMNS if column.required]
    needed += [BY_KEY[key] for key in ("vaccine_1", "date_1", "lot_1", "site_1")]
    return [column for column in needed if column.key not in header_map.positions]
