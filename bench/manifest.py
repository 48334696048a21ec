"""Manifest benchmark (issue 4): build a 500-line transport manifest PDF (target ≤ 1.5 s), beside the same
barcodes and text drawn on a bare reportlab canvas without any layout, so the ratio says what the layout costs.

    python bench/manifest.py                      # 500 lines, 10 builds
    python bench/manifest.py --lines 60 --repeat 20 --pdf /tmp/manifest.pdf

References, run in the same process on the same data:
- ``bare_reportlab``: reportlab's own ``Code128(...).drawOn`` (one rect per bar) and one ``drawString`` per text
  (vaccine, GTIN, lot, expiry, vials, doses, human-readable line) for each line, 14 lines a page at a fixed pitch;
- ``bare_one_path``: the same with the bars drawn as one path per symbol, as the manifest does
  (``reports.barcodes.draw_code128``): manifest / this ratio is what pagination, wrapping and the rest cost.
Times are wall-clock for the whole build, from the data to the finished PDF bytes (fonts are registered once, at
import, before timing).
"""
import argparse
import datetime
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import reportlab
from reportlab.graphics.barcode.code128 import Code128

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import write_result  # noqa: E402
from reports.barcodes import code128_bars, draw_code128, gs1_lot_data, gs1_lot_hri, gtin_check_digit  # noqa: E402
from reports.document import A4, FONT, mm, new_canvas  # noqa: E402
from reports.manifest import Manifest, ManifestLine, Party, Section, manifest_pdf  # noqa: E402

TARGET_SECONDS = 1.5
VACCINES = ["Vaxzevria (AstraZeneca)", "Comirnaty (Pfizer-BioNTech)", "Spikevax (Moderna)",
            "Vắc xin Vero Cell (Sinopharm)", "Sputnik V (Gamaleya)", "Hayat-Vax", "Janssen", "Abdala",
            "Vắc xin phòng COVID-19 bất hoạt toàn hạt virus SARS-CoV-2 (tế bào Vero), lọ 0,5 ml"]
LOT_STYLES = ["AB{:04d}", "3002{:04d}", "202108B{:04d}", "FK{:04d}/7", "L{:04d}-A"]
MODULE = 3 * 72 / 300  # as the manifest's line barcodes


def gtin(number):
    body = f"089360{number:07d}"
    return body + gtin_check_digit(body)


def sample_manifest(count):
    lines = [ManifestLine(vaccine=VACCINES[i % len(VACCINES)], gtin=gtin(1 + i % len(VACCINES)),
                          lot=LOT_STYLES[i % len(LOT_STYLES)].format(i),
                          expiry=datetime.date(2026, 12, 31) + datetime.timedelta(days=i % 400),
                          vials=20 + i % 50, doses=(20 + i % 50) * 10) for i in range(count)]
    return Manifest(number="VC-2026-000123",
                    origin=Party("KHO-QG", "Kho vắc xin quốc gia", "Số 1 Yersin, phường Cửa Nam, Hà Nội"),
                    destination=Party("HCM", "Kho vắc xin khu vực phía Nam",
                                      "167 Pasteur, phường Xuân Hòa, TP. Hồ Chí Minh"),
                    planned_date=datetime.date(2026, 3, 15),
                    dispatched_at=datetime.datetime(2026, 3, 15, 0, 30, tzinfo=datetime.UTC),
                    vehicle="29C-123.45", driver="Nguyễn Văn Hùng", cold_box="XL-02 (xe lạnh)",
                    temperature_min=2, temperature_max=8, lines=lines,
                    sections=[Section("Thiết bị ghi nhiệt độ", [("Mã thiết bị", "LOG-0042")])],
                    issued_by="Trần Thị Thu Hà")


def bare_canvas(manifest, one_path):
    """The lines' barcodes and texts on a plain canvas, no layout: fixed positions, 14 lines a page."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, title="bench")
    for index, line in enumerate(manifest.lines):
        if index and index % 14 == 0:
            canvas.showPage()
        top = A4[1] - 20 * mm - (index % 14) * 19 * mm
        canvas.setFont(FONT, 8)
        for x, text in ((15, str(index + 1)), (22, line.vaccine), (95, line.gtin), (123, line.lot),
                        (155, f"{line.expiry:%d/%m/%Y}"), (180, str(line.vials)), (192, str(line.doses))):
            canvas.drawString(x * mm, top, text)
        data = gs1_lot_data(line.gtin, line.expiry, line.lot)
        if one_path:
            bars, _ = code128_bars(data)
            end = draw_code128(canvas, 22 * mm, top - 12 * mm, bars, MODULE, 8.5 * mm)
        else:
            symbol = Code128(data, barWidth=MODULE, barHeight=8.5 * mm, quiet=0, humanReadable=0)
            symbol.drawOn(canvas, 22 * mm, top - 12 * mm)
            end = 22 * mm + symbol.width
        canvas.setFont(FONT, 6.5)
        canvas.drawString(end + 4 * mm, top - 8 * mm, gs1_lot_hri(line.gtin, line.expiry, line.lot))
    canvas.save()
    return buffer.getvalue()


def measure(build, repeat):
    durations, output = [], b""
    for _ in range(repeat):
        started = time.perf_counter()
        output = build()
        durations.append(time.perf_counter() - started)
    return {"min_ms": round(min(durations) * 1000, 1), "median_ms": round(statistics.median(durations) * 1000, 1),
            "max_ms": round(max(durations) * 1000, 1), "n": repeat, "bytes": len(output),
            "pages": output.count(b"/Type /Page\n")}, output


def machine():
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "reportlab": reportlab.Version}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pdf", help="also save the last manifest built here")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results/")
    args = parser.parse_args()

    data = sample_manifest(args.lines)
    manifest_pdf(data)  # warm-up: first-use costs (glyph tables, imports) are not what a server pays per request
    manifest, pdf = measure(lambda: manifest_pdf(data), args.repeat)
    stock, _ = measure(lambda: bare_canvas(data, one_path=False), args.repeat)
    one_path, _ = measure(lambda: bare_canvas(data, one_path=True), args.repeat)
    if args.pdf:
        Path(args.pdf).write_bytes(pdf)
    result = {
        "benchmark": "manifest_pdf", "lines": args.lines, "target_ms": TARGET_SECONDS * 1000,
        "manifest": manifest, "bare_reportlab": stock, "bare_one_path": one_path,
        "ratio_to_bare_reportlab": round(manifest["median_ms"] / stock["median_ms"], 2),
        "ratio_to_bare_one_path": round(manifest["median_ms"] / one_path["median_ms"], 2),
        "meets_target": manifest["median_ms"] <= TARGET_SECONDS * 1000,
        "machine": machine(),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if not args.no_save:
        print(f"written to {write_result('manifest', result)}", file=sys.stderr)


if __name__ == "__main__":
    main()
