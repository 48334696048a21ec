"""The benchmark runner (``python -m bench``): one quick scenario end to end, its result file completed with
the machine's facts, the run's summary, and the generated table of a copy of docs/benchmarks.md."""
import json
import os
import subprocess
import sys
from pathlib import Path

from bench import summary

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("VAXCHAIN_TEST_DATABASE_URL")


def run_bench(tmp_path, *options):
    database = ["--databases", "postgresql", "--postgresql", SERVER_URL] if SERVER_URL else ["--databases", "sqlite"]
    return subprocess.run([sys.executable, "-m", "bench", "--quick", *database, "--results", str(tmp_path / "results"),
                           *options], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_quick_run_writes_results_with_the_machine_and_regenerates_the_table(tmp_path):
    original = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(original, encoding="utf-8")

    done = run_bench(tmp_path, "--only", "certificates", "--doc", str(doc))

    assert done.returncode == 0, done.stdout + done.stderr
    database = "postgresql" if SERVER_URL else "sqlite"
    [result_file] = (tmp_path / "results").glob(f"certificates-{database}-*.json")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    machine = result["machine"]
    assert machine["cores"] == os.cpu_count() and machine["cpu"] and machine["python"]
    assert machine["sqlite"] and machine["commit"] and len(machine["loadavg_before"]) == 3
    assert bool(machine["postgresql"]) == bool(SERVER_URL)
    assert result["pdf"]["app"]["n"] > 0 and result["pdf"]["bare_one_path"]["n"] > 0
    assert result["signing"]["app_per_s"] > 0 and result["signing"]["bare_ed25519_per_s"] > 0

    [summary_file] = (tmp_path / "results").glob("summary-*.json")
    run = json.loads(summary_file.read_text(encoding="utf-8"))
    assert run["quick"] is True and [entry["status"] for entry in run["scenarios"]] == ["ok"]
    assert [row["figure"] for row in run["rows"]] == ["Certificate PDF over the API", "Certificate payload signing"]
    for row in run["rows"]:
        assert row["database"] == database and row["met"] in (True, False)
        assert row["target"] and row["measured"] and row["reference"] and row["ratio"] != "—"

    text = doc.read_text(encoding="utf-8")
    assert text.count(summary.START) == 1 and text.count(summary.END) == 1
    block = text[text.index(summary.START):text.index(summary.END)]
    assert f"summary-{run['stamp']}.json" in block and "quick run" in block
    assert "| Certificate payload signing | " + database in block
    assert "`python -m bench --only certificates`" in block
    outside = text.replace(block + summary.END, "")
    if summary.START in original:
        kept = original[:original.index(summary.START)] + original[original.index(summary.END) + len(summary.END):]
    else:
        kept = original
    assert outside.split() == kept.split()  # the hand-written sections are untouched


def test_an_unknown_scenario_is_refused(tmp_path):
    done = run_bench(tmp_path, "--only", "nonsense", "--no-doc")

    assert done.returncode == 2 and "invalid choice: 'nonsense'" in done.stderr
