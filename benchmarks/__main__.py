"""`make bench`: every figure in one run, printed as one table, written as JSON and into the docs.

    python -m benchmarks [--model artifacts/model] [--runs 5] [--out build/bench]

Cold start, init phases, init CPU and peak RSS under the Lambda emulator for our build, the import
floor and the conventional stack; warm latency in process with real events; explanation time against
shap's KernelExplainer; sizes; and the cost of a million predictions derived from them. The results
go to OUT/results.json and benchmarks/latest.json, and their tables into BENCHMARKS.md ("Latest
run"), README.md ("Headline figures") and the docs/ pages that show its drills.
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

from benchmarks import tables
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
    shift = _module(
        "benchmarks.siteshift", "--work", str(args.out / "siteshift"), "--json", str(args.out / "siteshift.json")
    )
    cases = _module(
        "benchmarks.cases", "--model", model, "--work", str(args.out), "--json", str(args.out / "cases.json")
    )
    results = {
        "machine": machine(),
        "model": {"version": warm["model_version"], "kind": warm["kind"]},
        "cold_start": cold,
        "warm": warm,
        "explanation": explain,
        "drift": drift,
        "logs_and_cost": logs,
        "siteshift": shift,
        "cases": cases,
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    tables.write_documents(results)
    sys.stdout.write(tables.render_latest(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
