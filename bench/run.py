"""Every benchmark in one command, on SQLite and on a throwaway PostgreSQL 15 cluster it starts itself.

    python -m bench                                    # the full run, about 20 minutes on 2 cores
    python -m bench --quick                            # short durations and small data, a few minutes
    python -m bench --only hot_lot --only certificates # some scenarios (names below)
    python -m bench --databases sqlite                 # one database
    python -m bench --postgresql postgresql://postgres@127.0.0.1:PORT/postgres   # an existing server

Each scenario runs as its own script (``bench/<name>.py``, usable alone) in its own process, one database
at a time, and writes its JSON result to bench/results/; the runner adds the machine's facts (CPU model,
core count, Python, SQLite and PostgreSQL versions, commit) and the load average before the scenario to
each, writes one ``summary-<time>.json`` per run, and (full runs; quick runs with ``--doc``) regenerates the
summary table at the top of docs/benchmarks.md between its markers.
"""
import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import summary  # noqa: E402
from bench.cluster import Cluster  # noqa: E402
from bench.common import RESULTS, RUN_LOG, git_commit  # noqa: E402

SQLITE, POSTGRESQL = "sqlite", "postgresql"
DOC = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    full: list = field(default_factory=list)
    quick: list = field(default_factory=list)
    databases: tuple = (SQLITE, POSTGRESQL)  # () when it uses none; "both" when one process does both


SCENARIOS = [
    Scenario("certificates", "certificates.py", quick=["--requests", "20", "--payloads", "500"]),
    Scenario("manifest", "manifest.py", quick=["--repeat", "3"], databases=()),
    Scenario("hot_lot", "hot_lot.py", full=["--doses", "3200"], quick=["--doses", "320"]),
    Scenario("registration", "registration.py", full=["--duration", "60"],
             quick=["--duration", "5", "--warmup", "1"]),
    Scenario("warehouse", "warehouse.py", quick=["--lots", "10000", "--ledger", "100000", "--requests", "100"]),
    Scenario("audit_chain", "audit_chain.py", full=["--commits", "2000", "--entries", "200000"],
             quick=["--commits", "200", "--entries", "20000"]),
    # The openpyxl bare read (about 160 s for the million rows) is left out; calamine is the reference.
    Scenario("backlog", "backlog.py", full=["--skip-openpyxl"], quick=["--rows", "20000", "--skip-openpyxl"],
             databases="both"),
]
NAMES = [scenario.name for scenario in SCENARIOS]


def machine(postgresql_url):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql": postgresql_version(postgresql_url),
            "commit": git_commit(), "uncommitted_changes": uncommitted(), "platform": platform.platform()}


def uncommitted():
    """Whether tracked files differ from the commit (then the commit alone does not say what was measured)."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                          text=True)
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def postgresql_version(url):
    if not url:
        return None
    from sqlalchemy import create_engine
    engine = create_engine(url)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return version


def invocations(scenario, databases, postgresql_url):
    """(database label, extra arguments) for each process the scenario runs as."""
    if not scenario.databases:
        return [(None, [])]
    if scenario.databases == "both":
        if POSTGRESQL not in databases:
            return [(SQLITE, ["--only", SQLITE])]
        return [(POSTGRESQL if SQLITE not in databases else "both", ["--database", postgresql_url]
                 + ([] if SQLITE in databases else ["--only", POSTGRESQL]))]
    return [(database, ["--database", SQLITE if database == SQLITE else postgresql_url])
            for database in scenario.databases if database in databases]


def run_one(scenario, database, extra, quick, results, facts, logs):
    """Run one scenario's process; its entry for the summary, its result files completed with ``facts``."""
    log_path = Path(tempfile.mkstemp(prefix="vaxchain-bench-run-", suffix=".log")[1])
    command = [sys.executable, str(ROOT / "bench" / scenario.script), *extra,
               *(scenario.quick if quick else scenario.full)]
    env = {**os.environ, "VAXCHAIN_BENCH_RESULTS": str(results), RUN_LOG: str(log_path)}
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    print(f"[bench] {scenario.name} ({database or 'no database'}) ... load average {' '.join(load_before)}",
          flush=True)
    started = time.perf_counter()
    output = logs / f"{scenario.name}-{database or 'none'}.log"
    with output.open("w") as sink:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    seconds = round(time.perf_counter() - started, 1)
    files = [Path(line) for line in log_path.read_text().splitlines() if line]
    log_path.unlink()
    entry = {"scenario": scenario.name, "database": database, "seconds": seconds, "loadavg_before": load_before,
             "command": " ".join(["python", f"bench/{scenario.script}",
                                  *("URL" if part == facts["postgresql_url"] else part for part in command[2:])]),
             "status": "ok" if done.returncode == 0 and files else "failed", "files": [], "rows": []}
    if entry["status"] != "ok":
        entry["output_tail"] = output.read_text()[-3000:]
    for path in files:
        result = json.loads(path.read_text(encoding="utf-8"))
        result["machine"] = {**result.get("machine", {}), **facts["machine"], "loadavg_before": load_before}
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        entry["files"].append(path.name)
    entry["rows"] = entry_rows(entry, results)
    print(f"[bench] {scenario.name} ({database or 'no database'}): {entry['status']} in {seconds} s", flush=True)
    return entry


def entry_rows(entry, results):
    """The summary rows of one scenario process's result files (a backlog process measures both databases:
    its rows name their own)."""
    database = None if entry["database"] == "both" else entry["database"]
    return [{**item, "command": f"python -m bench --only {entry['scenario']}"} for name in entry["files"]
            for item in summary.rows_of(entry["scenario"], database,
                                        json.loads((results / name).read_text(encoding="utf-8")))]


def carried_over(results, quick, present):
    """Rows of scenario × database pairs this run did not measure, from the latest earlier run of the same
    kind (quick or full) that did: the table keeps every figure, each saying which run it comes from."""
    kept = {}
    for path in sorted(results.glob("summary-*.json"), reverse=True):
        earlier = json.loads(path.read_text(encoding="utf-8"))
        if earlier.get("quick") != quick:
            continue
        for item in earlier.get("rows", []):
            key = (item["scenario"], item["database"])
            if key not in present and (key not in kept or kept[key][0] == earlier["stamp"]):
                kept.setdefault(key, (earlier["stamp"], []))[1].append({**item, "run": item.get("run")
                                                                        or earlier["stamp"]})
    return [item for _stamp, items in kept.values() for item in items]


def ordered(rows):
    position = {name: index for index, name in enumerate(NAMES)}
    databases = {SQLITE: 0, POSTGRESQL: 1, None: 2}
    return sorted(rows, key=lambda item: (position[item["scenario"]], databases.get(item["database"], 3)))


def write_table(doc, result, rows):
    doc.write_text(summary.update_doc(doc.read_text(encoding="utf-8"), summary.table(result, rows)),
                   encoding="utf-8")
    print(f"[bench] table regenerated in {doc}", flush=True)


def retable(path, doc):
    result = json.loads(path.read_text(encoding="utf-8"))
    results = path.parent
    for entry in result["scenarios"]:
        entry["rows"] = entry_rows(entry, results)
    result["rows"] = ordered([item for entry in result["scenarios"] for item in entry.pop("rows")])
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    present = {(item["scenario"], item["database"]) for item in result["rows"]}
    later = [item for item in carried_over(results, result["quick"], present) if item["run"] < result["stamp"]]
    write_table(doc, result, ordered(result["rows"] + later))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short durations and small data")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(NAMES)}")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--postgresql", help="an existing PostgreSQL server's URL instead of a throwaway cluster")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON files go (bench/results/)")
    parser.add_argument("--doc", type=Path, help="the page whose summary table to regenerate (default: "
                                                 "docs/benchmarks.md after a full run; none after a quick run)")
    parser.add_argument("--no-doc", action="store_true", help="leave the documentation alone")
    parser.add_argument("--table-from", type=Path, metavar="SUMMARY_JSON",
                        help="run nothing: recompute that run's rows from its result files (after a change to "
                             "bench/summary.py) and regenerate the table")
    args = parser.parse_args(argv)
    if args.table_from:
        return retable(args.table_from, args.doc or DOC)
    databases = {name.strip() for name in args.databases.split(",")}
    if not databases <= {SQLITE, POSTGRESQL}:
        parser.error("--databases takes sqlite, postgresql or both")
    chosen = [scenario for scenario in SCENARIOS if not args.only or scenario.name in args.only]
    needs_postgresql = POSTGRESQL in databases and any(scenario.databases for scenario in chosen)
    started_at, started = datetime.now(UTC), time.perf_counter()
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    logs = args.results / "logs" / stamp  # each scenario process's output
    logs.mkdir(parents=True, exist_ok=True)
    print(f"[bench] logs in {logs}", flush=True)
    cluster = Cluster(fsync="on") if needs_postgresql and not args.postgresql else None
    try:
        url = (args.postgresql or cluster.url) if needs_postgresql else None
        facts = {"machine": machine(url), "postgresql_url": url}
        entries = [run_one(scenario, database, extra, args.quick, args.results, facts, logs)
                   for scenario in chosen for database, extra in invocations(scenario, databases, url)]
    finally:
        if cluster is not None:
            cluster.stop()
    rows = [item for entry in entries for item in entry["rows"]]
    present = {(entry["scenario"], item["database"]) for entry in entries for item in entry["rows"]}
    result = {"stamp": stamp, "started": started_at.strftime("%Y-%m-%d %H:%M"), "quick": args.quick,
              "seconds": round(time.perf_counter() - started, 1), "machine": facts["machine"],
              "postgresql": ("an existing server" if args.postgresql else "throwaway cluster, fsync on")
              if needs_postgresql else "not run",
              "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
              "scenarios": [{key: value for key, value in entry.items() if key != "rows"} for entry in entries],
              "rows": ordered(rows)}
    path = args.results / f"summary-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"[bench] summary: {path}", flush=True)
    doc = None if args.no_doc else args.doc or (None if args.quick else DOC)
    if doc is not None:
        write_table(doc, result, ordered(rows + carried_over(args.results, args.quick, present)))
    for item in result["rows"]:
        print(f"  {item['scenario']:<13} {item['database'] or '—':<10} {item['measured']}  |  ref {item['reference']}"
              f"  |  ratio {item['ratio']}  |  met {item['met']}")
    return 0 if all(entry["status"] == "ok" for entry in entries) else 1


if __name__ == "__main__":
    sys.exit(main())
