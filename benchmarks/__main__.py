"""`make bench`: every figure in one run, printed as one table and written as JSON.

    python -m benchmarks [--model artifacts/model] [--runs 5] [--out build/bench]

Cold start, init CPU and peak RSS under the Lambda emulator for our build and the conventional
stack; warm latency in process with real events; explanation time against shap's KernelExplainer;
sizes; and the cost of a million predictions derived from them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.paths import ROOT

# us-east-1 list prices (AWS Lambda, Amazon API Gateway and Amazon CloudWatch pricing pages).


def _module(name: str, *args: str) -> dict[str, Any]:
    """Run a benchmark module in its own process (clean imports, its own peak memory)."""
    out = Path(args[args.index("--json") + 1])
    subprocess.run([sys.executable, "-m", name, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model = str(args.model)
    cold = _module(
        "benchmarks.coldstart",
        "--model",
        model,
        "--runs",
        str(args.runs),
        "--work",
        str(args.out),
        "--json",
        str(args.out / "coldstart.json"),
    )
    warm = _module("benchmarks.warm", "--model", model, "--json", str(args.out / "warm.json"))
    explain = _module("benchmarks.explain", "--model", model, "--json", str(args.out / "explain.json"))
    drift = _module("benchmarks.drift", "--model", model, "--json", str(args.out / "drift.json"))
    logs = _module(
        "benchmarks.logcost", "--model", model, "--work", str(args.out), "--json", str(args.out / "logcost.json")
    )
    results = {
        "machine": machine(),
        "model": {"version": warm["model_version"], "kind": warm["kind"]},
        "cold_start": cold,
        "warm": warm,
        "explanation": explain,
        "drift": drift,
        "logs_and_cost": logs,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(render(results) + "\n")
    return 0


def render(r: dict[str, Any]) -> str:
    c, w, e, logs = r["cold_start"], r["warm"], r["explanation"], r["logs_and_cost"]
    sizes = c["sizes_bytes"]
    rows = [
        (
            "cold start, wall (median of runs)",
            f"{c['ours']['wall_s']['median']:.3f} s",
            f"{c['conventional']['wall_s']['median']:.3f} s",
            f"{c['ratio_ours_to_conventional']:.2f}",
        ),
        (
            "cold start, conventional precompiled",
            "",
            f"{c['conventional_bytecode']['wall_s']['median']:.3f} s",
            f"{c['ratio_ours_to_conventional_bytecode']:.2f}",
        ),
        ("cold start, ours without bytecode", f"{c['ours_no_bytecode']['wall_s']['median']:.3f} s", "", ""),
        (
            "emulator init duration",
            f"{c['ours']['init_ms']['median']:.0f} ms",
            f"{c['conventional']['init_ms']['median']:.0f} ms",
            "",
        ),
        ("init CPU time", f"{c['ours']['cpu_s']['median']:.2f} s", f"{c['conventional']['cpu_s']['median']:.2f} s", ""),
        (
            "peak RSS after first response",
            f"{c['ours']['peak_rss_mb']['median']:.0f} MB",
            f"{c['conventional']['peak_rss_mb']['median']:.0f} MB",
            "",
        ),
        (
            "size unzipped (function + layers)",
            f"{sizes['ours']['unzipped'] / 1e6:.1f} MB",
            f"{sizes['conventional']['unzipped'] / 1e6:.1f} MB",
            f"{sizes['ours']['unzipped'] / sizes['conventional']['unzipped']:.2f}",
        ),
        (
            "size zipped",
            f"{sizes['ours']['zipped'] / 1e6:.1f} MB",
            f"{sizes['conventional']['zipped'] / 1e6:.1f} MB",
            "",
        ),
        ("warm p50 / p99, one prediction", f"{w['predict']['p50_ms']:.3f} / {w['predict']['p99_ms']:.3f} ms", "", ""),
        (
            "warm p50 / p99, with explanation",
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
            "warm p50, V2 infer of one row (ratio to /predict)",
            f"{w['v2_infer_1']['p50_ms']:.3f} ms",
            "",
            f"{w['v2_over_predict_p50']:.2f}",
        ),
        (
            "warm p50, V2 infer of 1000 rows (ratio to batch)",
            f"{w['v2_infer_1000']['p50_ms']:.1f} ms",
            "",
            f"{w['v2_over_batch_p50']:.2f}",
        ),
        (
            "explanation per row (KernelExplainer, auto)",
            f"{e['ours_ms_per_row_single']:.3f} ms",
            f"{e['kernel_explainer_auto_ms_per_row']:.1f} ms",
            f"1/{e['speedup_vs_kernel_explainer_auto']:.0f}",
        ),
        (
            f"drift drill: largest PSI, genuine / {r['drift']['feature']} x{r['drift']['factor']:g}",
            f"{max(w['largest_psi'] for w in r['drift']['genuine']):.2f} / "
            f"{min(w['feature_psi'] for w in r['drift']['slipped']):.2f}",
            "",
            f"> {r['drift']['alarm_psi']:g}",
        ),
        ("warm billed duration under the emulator", f"{logs['platform']['billed_ms_median']:.0f} ms", "", ""),
        (
            "log bytes per request: function / access",
            f"{logs['function']['bytes_per_request']:.0f} / {logs['access_log']['bytes_per_request']}",
            "",
            "",
        ),
        ("cost of a million predictions", f"${logs['cost']['total']['usd']:.2f}", "", ""),
    ]
    head = f"| {'measure':<44} | {'ours':<20} | {'conventional':<14} | {'ratio':<6} |"
    lines = [head, "|" + "|".join("-" * (n + 2) for n in (44, 20, 14, 6)) + "|"]
    lines += [f"| {a:<44} | {b:<20} | {c_:<14} | {d:<6} |" for a, b, c_, d in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
