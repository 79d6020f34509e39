"""The tables of the last `make bench`, written into BENCHMARKS.md, README.md and docs/ from one results file.

`benchmarks/latest.json` holds the last run's results; `make bench` rewrites it and the text between
each document's markers (`<!-- bench:NAME -->` ... `<!-- /bench:NAME -->`), so that no figure is
copied by hand. A test renders the tables from the file again and compares.
"""

from __future__ import annotations

import json
import re
from typing import Any

from benchmarks import siteshift
from infra.paths import ROOT

LATEST = ROOT / "benchmarks" / "latest.json"
# Each table, and the documents that show it.
DOCUMENTS = {
    "latest": (ROOT / "BENCHMARKS.md",),
    "headline": (ROOT / "README.md",),
    "siteshift": (ROOT / "BENCHMARKS.md", ROOT / "docs" / "site.md"),
    "cases": (ROOT / "BENCHMARKS.md", ROOT / "docs" / "model.md"),
    "audit": (ROOT / "docs" / "site.md",),
    "update": (ROOT / "docs" / "site.md",),
}
Row = tuple[str, str, str, str]


def _median(figure: dict[str, Any]) -> float:
    return float(figure["median"])


def _table(head: Row, rows: list[Row]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cold_rows(c: dict[str, Any]) -> list[Row]:
    ours, floor, conv = c["ours"], c["floor"], c["conventional"]
    phases = ", ".join(f"{name} {ms:.1f}" for name, ms in c["phases_ms"].items())
    return [
        (
            f"cold start, wall (median of {ours['runs']})",
            f"{_median(ours['wall_s']):.3f} s",
            f"{_median(floor['wall_s']):.3f} s (ours / floor {c['ratio_ours_to_floor']:.3f})",
            f"{_median(conv['wall_s']):.3f} s (ours / it {c['ratio_ours_to_conventional']:.2f})",
        ),
        (
            "cold start, conventional precompiled",
            "",
            "",
            f"{_median(c['conventional_bytecode']['wall_s']):.3f} s "
            f"(ours / it {c['ratio_ours_to_conventional_bytecode']:.2f})",
        ),
        ("cold start, ours without bytecode", f"{_median(c['ours_no_bytecode']['wall_s']):.3f} s", "", ""),
        (
            "cold start, ours with the collector running during init",
            f"{_median(c['ours_collector_running']['wall_s']):.3f} s "
            f"(pausing it saves {c['device_saving_collector_paused']:.1%})",
            "",
            "",
        ),
        (
            "cold start, ours building at init what routes build on first use",
            f"{_median(c['ours_all_at_init']['wall_s']):.3f} s (first use saves {c['device_saving_first_use']:.1%})",
            "",
            "",
        ),
        (
            "emulator init duration",
            f"{_median(ours['init_ms']):.0f} ms",
            f"{_median(floor['init_ms']):.0f} ms",
            f"{_median(conv['init_ms']):.0f} ms",
        ),
        ("init phases of ours, ms (median)", phases, "", ""),
        (
            "init CPU time, peak RSS",
            f"{_median(ours['cpu_s']):.2f} s, {_median(ours['peak_rss_mb']):.0f} MB",
            f"{_median(floor['cpu_s']):.2f} s, {_median(floor['peak_rss_mb']):.0f} MB",
            f"{_median(conv['cpu_s']):.2f} s, {_median(conv['peak_rss_mb']):.0f} MB",
        ),
    ]


def _size_rows(sizes: dict[str, Any]) -> list[Row]:
    ours, conv = sizes["ours"], sizes["conventional"]
    return [
        (
            "function + layers, unzipped / zipped",
            f"{ours['unzipped'] / 1e6:.1f} MB / {ours['zipped'] / 1e6:.1f} MB",
            "",
            f"{conv['unzipped'] / 1e6:.1f} MB / {conv['zipped'] / 1e6:.1f} MB",
        )
    ]


def _warm_rows(w: dict[str, Any], e: dict[str, Any]) -> list[Row]:
    return [
        ("warm p50 / p99, one prediction", f"{w['predict']['p50_ms']:.3f} / {w['predict']['p99_ms']:.3f} ms", "", ""),
        (
            "warm p50 / p99, explained",
            f"{w['predict_explain']['p50_ms']:.3f} / {w['predict_explain']['p99_ms']:.3f} ms",
            "",
            "",
        ),
        (
            "warm p50 / p99, batch of 1000",
            f"{w['batch_1000']['p50_ms']:.1f} / {w['batch_1000']['p99_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "warm p50, V2 infer: one row / 1000 rows",
            f"{w['v2_infer_1']['p50_ms']:.3f} ms / {w['v2_infer_1000']['p50_ms']:.1f} ms",
            "",
            "",
        ),
        (
            "exact explanation of one row",
            f"{e['ours_ms_per_row_single']:.3f} ms",
            "",
            f"shap KernelExplainer {e['kernel_explainer_auto_ms_per_row']:.1f} ms, approximate",
        ),
    ]


def _cost_rows(r: dict[str, Any]) -> list[Row]:
    logs, drift = r["logs_and_cost"], r["drift"]
    return [
        (
            f"drift drill: largest PSI, genuine / {drift['feature']} x{drift['factor']:g} "
            f"(alarm {drift['alarm_psi']:g})",
            f"{max(w['largest_psi'] for w in drift['genuine']):.2f} / "
            f"{min(w['feature_psi'] for w in drift['slipped']):.2f}",
            "",
            "",
        ),
        ("warm billed duration under the emulator", f"{logs['platform']['billed_ms_median']:.0f} ms", "", ""),
        (
            "log bytes per request: function / access log",
            f"{logs['function']['bytes_per_request']:.0f} / {logs['access_log']['bytes_per_request']}",
            "",
            "",
        ),
        ("cost of a million predictions (HTTP API, 1 GB, us-east-1)", f"${logs['cost']['total']['usd']:.2f}", "", ""),
    ]


def _machine(r: dict[str, Any]) -> str:
    m = r["machine"]
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']}. "
        f"Model {r['model']['version']} ({r['model']['kind']} margin), trained on this machine."
    )


HEAD: Row = ("measure", "ours", "import floor", "conventional stack")


def render_latest(r: dict[str, Any]) -> str:
    """BENCHMARKS.md's "Latest run": the machine, then every figure of the run."""
    c = r["cold_start"]
    rows = [*_cold_rows(c), *_size_rows(c["sizes_bytes"]), *_warm_rows(r["warm"], r["explanation"]), *_cost_rows(r)]
    return _machine(r) + "\n\n" + _table(HEAD, rows)


def render_headline(r: dict[str, Any]) -> str:
    """README.md's headline figures: the same run, fewer rows."""
    c, w, e = r["cold_start"], r["warm"], r["explanation"]
    full = [*_cold_rows(c), *_size_rows(c["sizes_bytes"]), *_warm_rows(w, e), *_cost_rows(r)]
    row = {line[0].split(" (")[0]: line for line in full}  # the full table's rows, by their label
    rows = [
        row["cold start, wall"],
        row["init CPU time, peak RSS"],
        row["function + layers, unzipped / zipped"],
        (
            "warm p50: one prediction, explained, batch of 1000",
            f"{w['predict']['p50_ms']:.2f} ms, {w['predict_explain']['p50_ms']:.2f} ms, "
            f"{w['batch_1000']['p50_ms']:.0f} ms",
            "",
            "",
        ),
        row["exact explanation of one row"],
        row["cost of a million predictions"],
    ]
    return _machine(r) + "\n\n" + _table(HEAD, rows)


def render_siteshift(r: dict[str, Any]) -> str:
    """The site-shift drill: the held-out site and the shifted scanner, and the estimates without labels."""
    return siteshift.table(r["siteshift"])


def render_audit(r: dict[str, Any]) -> str:
    """The audit drill: the site-shift cohort with a scanner column and a clinic column."""
    return siteshift.audit_table(r["siteshift"]["audit"])


def render_update(r: dict[str, Any]) -> str:
    """The update drill: the new scanner's rows, half to update the model, half to judge both versions."""
    return siteshift.update_table(r["siteshift"]["update"])


def render_cases(r: dict[str, Any]) -> str:
    """Counterfactuals over every training row at the balanced point, beside the exhaustive baseline."""
    rows = []
    for c in r["cases"]["models"]:
        baseline = (
            f"{c['mean_distance']:.4f} vs {c['mean_baseline_distance']:.4f} ({c['baseline_rows']} rows, "
            f"worst ratio {c['worst_ratio_to_baseline']:.4f})"
            if c["baseline_rows"]
            else "not compared"
        )
        rows.append(
            (
                f"{c['kind']}, at most {c['max_features']}",
                f"{100 * c['found_share']:.1f}% of {c['rows']}",
                f"{c['mean_features_changed']:.2f}",
                baseline,
                f"{c['ms_per_record_median']:.2f} / {c['ms_per_record_p95']:.2f}",
                f"{c['similar_cases_ms_per_record']:.3f}",
            )
        )
    head = (
        "model, features changed",
        "counterfactual found",
        "mean features changed",
        "mean distance (SD): ours vs exhaustive baseline",
        "ms per record, median / p95",
        "similar cases (10), ms per record",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


RENDER = {
    "latest": render_latest,
    "headline": render_headline,
    "siteshift": render_siteshift,
    "cases": render_cases,
    "audit": render_audit,
    "update": render_update,
}


def _markers(text: str, name: str) -> re.Match[str]:
    found = re.search(rf"<!-- bench:{name} -->\n(.*?)<!-- /bench:{name} -->", text, re.DOTALL)
    if found is None:
        raise ValueError(f"no <!-- bench:{name} --> ... <!-- /bench:{name} --> markers")
    return found


def section(text: str, name: str) -> str:
    """The text between a document's markers for `name`."""
    return _markers(text, name).group(1).removesuffix("\n")


def write_documents(results: dict[str, Any]) -> None:
    """Keep the results as the latest run and rewrite both documents' tables from them."""
    LATEST.write_text(json.dumps(results, indent=2) + "\n")
    for name, paths in DOCUMENTS.items():
        for path in paths:
            text = path.read_text()
            start, end = _markers(text, name).span(1)
            path.write_text(text[:start] + RENDER[name](results) + "\n" + text[end:])
