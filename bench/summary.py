"""The summary of a benchmark run: one row per measured figure (target, measured, reference, ratio, met),
from each scenario's result file, and the table of docs/benchmarks.md between its markers.

Ratios: for rates (per second) the app's rate over the reference's, below 1 when the app is slower; for
times the app's time over the reference's, above 1 when the app is slower. "met" is None where the issue
sets no target."""

START, END = "<!-- bench:summary:start -->", "<!-- bench:summary:end -->"


def row(label, target, measured, reference, ratio, kind, met):
    return {"figure": label, "target": target, "measured": measured, "reference": reference,
            "ratio": f"{ratio:.3g} ({kind})" if ratio is not None else "—", "met": met}


def rate(value):
    return f"{value:,.0f}".replace(",", " ")


def others_share(side):
    """What other processes took of the machine's CPU while ``side`` ran: a busy machine shows in the figures."""
    cpu = side["cpu_seconds"]
    if not cpu["whole_machine"]:
        return ""
    # the processes' CPU and the machine's are read a moment apart: a quiet machine may come out a hair below 0
    return f"; other processes took {max(cpu['other_processes'], 0) / cpu['whole_machine']:.0%} of the CPU"


def registration(result):
    app, reference = result["app"], result["raw_reference"]
    met = app["targets_met"]
    checks = all(app["checks"].values()) and result["stock_check"]["passed"]
    p99 = app["latency"]["p99_ms"]
    return [row(f"Registration over HTTP, {result['setup']['clients']} clients",
                result["target"].replace(">=", "≥").replace("<=", "≤"),
                f"{rate(app['per_second'])}/s for {result['setup']['duration_s']:g} s, p99 {p99:.0f} ms, "
                f"{met['errors_count']} errors" + ("" if checks else "; CHECKS FAILED") + others_share(app),
                f"{rate(reference['per_second'])}/s ({result['reference']})",
                app["per_second"] / reference["per_second"], "rate",
                met["per_second"] and met["p99_ms"] and met["errors"] and checks)]


def hot_lot(result):
    app, reference, setup = result["app"], result["reference"], result["setup"]
    statuses = app["statuses"]
    refused = statuses.get("409 no_stock", 0)
    others = sum(count for status, count in statuses.items() if status not in ("201", "409 no_stock"))
    clean = all(app["checks"].values())
    p99 = app["latency"]["p99_ms"]
    return [row(f"Hot lot: {setup['clients']} clients, one lot at one site, {setup['doses']} doses",
                "≥ 150 commits/s, no dose sold twice",
                f"{rate(app['per_second'])} commits/s, p99 {p99:.0f} ms; {statuses.get('201', 0)} × 201, "
                f"{refused} × 409 no_stock, {others} other; " + ("stock check clean" if clean else "CHECKS FAILED")
                + others_share(app),
                f"{rate(reference['per_second'])}/s ({result['reference_kind']})",
                app["per_second"] / reference["per_second"], "rate", result["targets_met"]["per_second"] and clean)]


def warehouse(result):
    scan, stock = result["scan"], result["stock"]
    lots, lines = result["data"]["lots"], result["data"]["ledger_lines"]
    return [row(f"Scan lookup among {rate(lots)} lots", "p95 ≤ 30 ms", f"p95 {scan['app']['p95_ms']:.1f} ms",
                f"p95 {scan['raw_sql']['p95_ms']:.2f} ms (raw SQL)", scan["app"]["p95_ms"] / scan["raw_sql"]["p95_ms"],
                "time", scan["app"]["p95_ms"] <= 30),
            row(f"Stock on hand, {rate(lines)} ledger lines", "p90 ≤ 150 ms", f"p90 {stock['app']['p90_ms']:.1f} ms",
                f"p90 {stock['raw_sql']['p90_ms']:.2f} ms (raw SQL)",
                stock["app"]["p90_ms"] / stock["raw_sql"]["p90_ms"], "time", stock["app"]["p90_ms"] <= 150)]


def manifest(result):
    built, bare = result["manifest"], result["bare_one_path"]
    return [row(f"Manifest PDF, {result['lines']} lines", f"≤ {result['target_ms'] / 1000:g} s",
                f"median {built['median_ms']:.0f} ms", f"median {bare['median_ms']:.0f} ms (bare reportlab canvas)",
                built["median_ms"] / bare["median_ms"], "time", result["meets_target"])]


def certificates(result):
    pdf, signed = result["pdf"], result["signing"]
    return [row("Certificate PDF over the API", "p95 ≤ 100 ms", f"p95 {pdf['app']['p95_ms']:.0f} ms",
                f"p95 {pdf['bare_one_path']['p95_ms']:.0f} ms (bare reportlab canvas)",
                pdf["app"]["p95_ms"] / pdf["bare_one_path"]["p95_ms"], "time", pdf["met"]),
            row("Certificate payload signing", "≥ 2 000/s", f"{rate(signed['app_per_s'])}/s",
                f"{rate(signed['bare_ed25519_per_s'])}/s (bare Ed25519)", signed["ratio"], "rate", signed["met"])]


def audit_chain(result):
    return [row(f"Audit seal, {result['commits']} commits of 3 entries", "—",
                f"{result['sealed_ms']:.2f} ms a commit; verify {rate(result['verified'] / result['verify_s'])}/s",
                f"{result['raw_sql_ms']:.2f} ms (raw SQL insert)", result["sealed_ms"] / result["raw_sql_ms"], "time",
                None)]


def backlog(result):
    rows, calamine = result["rows"], result["read"].get("calamine")
    out = []
    for database, report in result["import"].items():
        seconds = report["seconds"]
        main, worker = report["peak_rss_mb"], report["worker_peak_rss_mb"]
        rss = main + worker
        allowed = 90 * rows / 1_000_000
        exact = report["rejected"] == report["rejected_expected"] and report["job_status"] == "done"
        out.append({"database": database, **row(
            f"Backlog import, {rate(rows)} rows", "1 000 000 rows ≤ 90 s (≥ 11 111 rows/s), RSS ≤ 512 MB in all",
            f"{seconds:.1f} s ({rate(report['rows_per_s'])} rows/s), peak RSS {main:.0f} + {worker:.0f} MB (worker)"
            + ("" if exact else "; CHECKS FAILED"),
            f"{calamine['wall_s']:.1f} s (calamine bare read)" if calamine else "—",
            seconds / calamine["wall_s"] if calamine else None, "time", seconds <= allowed and rss <= 512 and exact)})
    return out


EXTRACTORS = {"registration": registration, "hot_lot": hot_lot, "warehouse": warehouse, "manifest": manifest,
              "certificates": certificates, "audit_chain": audit_chain, "backlog": backlog}


def rows_of(scenario, database, result):
    """The summary rows of one result file of ``scenario`` run on ``database`` (None: no database)."""
    return [{"scenario": scenario, "database": database, **figure} for figure in EXTRACTORS[scenario](result)]


# --- The table in docs/benchmarks.md --------------------------------------------------------------------

def table(summary, rows):
    machine = summary["machine"]
    mode = "quick run (short durations: figures are indicative only)" if summary["quick"] else "full run"
    changes = " with uncommitted changes" if machine.get("uncommitted_changes") else ""
    lines = [START,
             "<!-- generated by `python -m bench`: edit bench/summary.py, not this block -->",
             f"**Last run:** {summary['started']} UTC, {mode}, {summary['seconds'] / 60:.1f} min; "
             f"commit {machine['commit']}{changes}; {machine['cpu']}, {machine['cores']} cores; "
             f"Python {machine['python']}; "
             f"SQLite {machine['sqlite']}; PostgreSQL {machine['postgresql'] or '—'} ({summary['postgresql']}). "
             f"Results: `bench/results/summary-{summary['stamp']}.json`.",
             "",
             "| Scenario | Database | Target | Measured | Reference (same run) | Ratio | Met | Command |",
             "|---|---|---|---|---|---|---|---|"]
    for item in rows:
        met = {True: "**yes**", False: "**no**", None: "—"}[item["met"]]
        when = "" if item.get("run") in (None, summary["stamp"]) else f" (run {item['run']})"
        lines.append(f"| {item['figure']} | {item['database'] or '—'} | {item['target']} | {item['measured']}{when} | "
                     f"{item['reference']} | {item['ratio']} | {met} | `{item['command']}` |")
    failed = [f"{entry['scenario']} ({entry['database'] or 'no database'})" for entry in summary["scenarios"]
              if entry["status"] != "ok"]
    if failed:
        lines += ["", f"Failed in this run: {', '.join(failed)} (see the summary file)."]
    lines.append(END)
    return "\n".join(lines)


def update_doc(text, block):
    """``text`` with the generated block replaced, or inserted after the title's first paragraph."""
    if START in text and END in text:
        before, rest = text.split(START, 1)
        return before + block + rest.split(END, 1)[1]
    title, _, body = text.partition("\n\n")
    introduction, _, rest = body.partition("\n\n")
    return f"{title}\n\n{introduction}\n\n{block}\n\n{rest}"
