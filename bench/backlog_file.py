"""The backlog benchmark's file: ``rows`` people × 16 columns (the person's 8, doses 1 and 2), typed the way
site staff type them, with a share of bad rows the import must reject.

    python bench/backlog_file.py OUT.xlsx --rows 1000000          # about 4 min with openpyxl's write-only mode

Most IDs and phones are text; some were typed as numbers and lost their leading zero (the import restores
them); dates are date cells, and some are dd/mm/yyyy text. Each bad row has one of the faults in ``FAULTS``.
"""
import argparse
import random
import sys
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

HEADERS = ["Họ và tên", "Giới tính", "Ngày sinh", "Số CCCD/CMND", "Số điện thoại", "Tỉnh/Thành phố", "Quận/Huyện",
           "Địa chỉ chi tiết",
           "Loại vắc xin mũi 1", "Ngày tiêm mũi 1", "Lô vắc xin mũi 1", "Mã cơ sở tiêm mũi 1",
           "Loại vắc xin mũi 2", "Ngày tiêm mũi 2", "Lô vắc xin mũi 2", "Mã cơ sở tiêm mũi 2"]
# The vaccines as typed, their catalogue code, the days between the doses, and the lots the benchmark registers.
VACCINES = [("Vero Cell", "VEROCELL", 28), ("AstraZeneca", "VAXZEVRIA", 84), ("Pfizer", "COMIRNATY", 21)]
LOTS_PER_VACCINE = 4
SITES = 50
FAULTS = ("unknown_lot", "impossible_date", "future_date", "no_name", "id_disagrees", "doses_out_of_order",
          "unknown_site", "same_person_twice")
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = {"Nam": ["Văn", "Hữu", "Đức", "Minh", "Quang", "Công"], "Nữ": ["Thị", "Ngọc", "Thu", "Thanh", "Mai", "Kim"]}
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan", "Linh", "Nam", "Phương", "Sơn", "Tâm",
         "Thảo", "Trang", "Tuấn", "Việt", "Yến", "Đạt"]
PLACES = [("Hà Nội", "01", "Quận Ba Đình"), ("Hồ Chí Minh", "79", "Quận 1"), ("Đà Nẵng", "48", "Quận Hải Châu"),
          ("Hải Phòng", "31", "Quận Lê Chân"), ("Cần Thơ", "92", "Quận Ninh Kiều"), ("Nghệ An", "40", "TP Vinh")]
FIRST_DAY = date(2021, 7, 1)


def lot_number(code, index):
    return f"{code[:3]}{index + 1:03d}B"


def site_code(index):
    return f"DT-{index:04d}"


def person_row(number, rng):
    gender = "Nam" if number % 2 else "Nữ"
    born = date(1940 + number % 65, 1 + number % 12, 1 + number % 28)
    province, code, district = PLACES[number % len(PLACES)]
    digit = {("Nam", 19): "0", ("Nữ", 19): "1", ("Nam", 20): "2", ("Nữ", 20): "3"}[gender, born.year // 100]
    national_id = f"0{code}{digit}{born.year % 100:02d}{number % 1_000_000:06d}"
    phone = f"09{number:08d}"
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE[gender])} {rng.choice(GIVEN)}"
    vaccine, vaccine_code, gap = VACCINES[number % len(VACCINES)]
    first = FIRST_DAY + timedelta(days=number % 120)
    lot = lot_number(vaccine_code, number % LOTS_PER_VACCINE)
    site = site_code(number % SITES)
    if number % 10 == 3:
        national_id, phone = int(national_id), int(phone)  # typed as numbers: the leading zero is gone
    return [name, gender, born if number % 4 else born.strftime("%d/%m/%Y"), national_id, phone, province, district,
            f"Số {number % 200 + 1} đường số {number % 37 + 1}",
            vaccine, first, lot, site, vaccine, first + timedelta(days=gap), lot, site]


def spoil(values, fault, rng):
    """``values`` with one ``fault``."""
    if fault == "unknown_lot":
        values[10] = "LO-KHONG-CO"
    elif fault == "impossible_date":
        values[9] = "31/02/2021"
    elif fault == "future_date":
        values[13] = date.today() + timedelta(days=30)
    elif fault == "no_name":
        values[0] = None
    elif fault == "id_disagrees":
        national_id = str(values[3]).zfill(12)
        values[3] = national_id[:3] + str((int(national_id[3]) + 1) % 4) + national_id[4:]
    elif fault == "doses_out_of_order":
        values[9], values[13] = values[13], values[9]
    elif fault == "unknown_site":
        values[11] = "DT-KHONG-CO"
    return values


def rows(count, bad_share=0.02, seed=2021):
    """The file's rows, with ``bad_share`` of them bad (spread evenly, each fault in turn)."""
    rng = random.Random(seed)
    every = round(1 / bad_share) if bad_share else 0
    previous = None
    for number in range(1, count + 1):
        values = person_row(number, rng)
        if every and number % every == every // 2:
            fault = FAULTS[(number // every) % len(FAULTS)]
            values = list(previous) if fault == "same_person_twice" and previous else spoil(values, fault, rng)
        previous = values
        yield values


def write(path, count, bad_share=0.02, seed=2021):
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Mẫu nhập")
    sheet.append(HEADERS)
    for values in rows(count, bad_share, seed):
        sheet.append([dated(sheet, value) if isinstance(value, date) else value for value in values])
    book.save(path)
    return path


def dated(sheet, day):
    cell = WriteOnlyCell(sheet, value=day)
    cell.number_format = "DD/MM/YYYY"
    return cell


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad", type=float, default=0.02, help="share of bad rows (default 0.02)")
    args = parser.parse_args()
    write(args.out, args.rows, args.bad)
    print(f"{args.out}: {args.rows} rows, {args.out.stat().st_size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
