"""Cold start under the Lambda Runtime Interface Emulator: our build against the conventional stack.

    python -m benchmarks.coldstart --model artifacts/model [--runs 5] [--work build/bench] [--json FILE]

Builds, in one run and from the same training output: our function and layers (with and without
precompiled bytecode) and the conventional stack (FastAPI + Mangum + Powertools + the joblib
scikit-learn pipeline, as SAM's python builder leaves it: no bytecode; and precompiled, for
fairness). Each variant starts a fresh emulator on a bare Python 3.13 and answers one real API
Gateway event; the runs are interleaved so that machine noise falls on all variants alike.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import build, package
from infra.paths import ROOT
from local.emulator import HANDLER
from local.events import event
from local.lambda_layout import Layout, base_interpreter, runtime_client
from model import artifact

CONVENTIONAL = Path(__file__).resolve().parent / "conventional"


@dataclass(frozen=True)
class Variant:
    name: str
    layout: Layout


def _without_bytecode(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def prepare(model: Path, work: Path) -> tuple[list[Variant], dict[str, dict[str, int]]]:
    work.mkdir(parents=True, exist_ok=True)
    client = runtime_client(work / "runtime-client")
    ours_fn, ours_deps, ours_model = work / "ours" / "function", work / "ours" / "deps", work / "ours" / "model-layer"
    build.build_function(ours_fn)
    build.build_deps(ours_deps, "x86_64")
    package.package(model, ours_model)
    base_fn, base_deps, base_model = work / "conv" / "function", work / "conv" / "deps", work / "conv" / "model"
    shutil.rmtree(base_fn, ignore_errors=True)
    (base_fn / "model").mkdir(parents=True)
    shutil.copy2(CONVENTIONAL / "lambda_function.py", base_fn / "lambda_function.py")
    for name in ("__init__.py", "schema.py"):
        shutil.copy2(ROOT / "model" / name, base_fn / "model" / name)
    build.compile_tree(base_fn)
    # As SAM's python builder would leave it: test suites included (bytecode is removed below).
    build.build_deps(base_deps, "x86_64", requirements=CONVENTIONAL / "requirements.txt", strip_tests=False)
    base_model.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model / "pipeline.joblib", base_model / "pipeline.joblib")

    ours_fn_plain = _without_bytecode(ours_fn, work / "ours" / "function-nopyc")
    ours_deps_plain = _without_bytecode(ours_deps, work / "ours" / "deps-nopyc")
    base_fn_plain = _without_bytecode(base_fn, work / "conv" / "function-nopyc")
    base_deps_plain = _without_bytecode(base_deps, work / "conv" / "deps-nopyc")
    ours_handler, base_handler, python = HANDLER, "lambda_function.handler", base_interpreter()
    variants = [
        Variant("ours", Layout(python, ours_fn, (ours_deps / "python", client), ours_model / "model", ours_handler)),
        Variant(
            "ours_no_bytecode",
            Layout(python, ours_fn_plain, (ours_deps_plain / "python", client), ours_model / "model", ours_handler),
        ),
        Variant(
            "conventional",
            Layout(python, base_fn_plain, (base_deps_plain / "python", client), base_model, base_handler),
        ),
        Variant(
            "conventional_bytecode", Layout(python, base_fn, (base_deps / "python", client), base_model, base_handler)
        ),
    ]
    sizes = {
        "ours": {
            "function": build.tree_size(ours_fn),
            "dependencies_layer": build.tree_size(ours_deps),
            "model_layer": build.tree_size(ours_model),
            "zipped": sum(
                build.zip_tree(d, work / "zips" / f"ours-{i}.zip")
                for i, d in enumerate((ours_fn, ours_deps, ours_model))
            ),
        },
        "conventional": {
            "function": build.tree_size(base_fn_plain),
            "dependencies_layer": build.tree_size(base_deps_plain),
            "model_layer": build.tree_size(base_model),
            "zipped": sum(
                build.zip_tree(d, work / "zips" / f"conv-{i}.zip")
                for i, d in enumerate((base_fn_plain, base_deps_plain, base_model))
            ),
        },
    }
    for entry in sizes.values():
        entry["unzipped"] = entry["function"] + entry["dependencies_layer"] + entry["model_layer"]
    return variants, sizes


def cold_start(variant: Variant, request: dict[str, Any], log_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    with variant.layout.start(log_dir / f"{variant.name}.log") as emulator:
        answer = emulator.invoke(request)
        wall = time.perf_counter() - started
        stats = emulator.runtime_stats()
        init_ms = emulator.init_duration_ms()
    if answer.status != 200 or answer.payload.get("statusCode") != 200:
        raise RuntimeError(f"{variant.name} failed: {str(answer.payload)[:500]}")
    return {"wall_s": wall, "init_ms": init_ms or float("nan"), **stats}


def warm_billed_ms(variant: Variant, request: dict[str, Any], log_dir: Path, calls: int = 200) -> dict[str, float]:
    """Lambda's own Duration and Billed Duration of warm calls, from the emulator's REPORT lines."""
    with variant.layout.start(log_dir / f"{variant.name}-warm.log") as emulator:
        for _ in range(calls + 1):
            emulator.invoke(request)
        log = emulator.log()
    reports = re.findall(r"\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms", log)[1:]  # the first call is cold
    return {
        "duration_ms_median": statistics.median(float(d) for d, _ in reports),
        "billed_ms_median": statistics.median(float(b) for _, b in reports),
        "calls": len(reports),
    }


def summarise(samples: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(samples)}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "artifacts" / "model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    variants, sizes = prepare(args.model, args.work)
    row = dict(artifact.load(args.model).manifest.examples["malignant"].features)
    request = event("v2", "POST", "/predict", {"features": row})
    samples: dict[str, list[dict[str, float]]] = {v.name: [] for v in variants}
    for _ in range(args.runs):
        for variant in variants:
            samples[variant.name].append(cold_start(variant, request, args.work))
    results: dict[str, Any] = {name: summarise(s) for name, s in samples.items()}
    ours, conventional = results["ours"]["wall_s"]["median"], results["conventional"]["wall_s"]["median"]
    results["ratio_ours_to_conventional"] = ours / conventional
    results["ratio_ours_to_conventional_bytecode"] = ours / results["conventional_bytecode"]["wall_s"]["median"]
    results["sizes_bytes"] = sizes
    results["warm_under_emulator"] = warm_billed_ms(variants[0], request, args.work)
    header = f"{'variant':<24}{'wall s':>16}{'init ms':>18}{'cpu s':>8}{'peak MB':>9}\n"
    sys.stdout.write(header)
    for name in samples:
        r = results[name]
        wall = f"{r['wall_s']['median']:.3f} ({r['wall_s']['min']:.2f}-{r['wall_s']['max']:.2f})"
        init = f"{r['init_ms']['median']:.0f} ({r['init_ms']['min']:.0f}-{r['init_ms']['max']:.0f})"
        sys.stdout.write(
            f"{name:<24}{wall:>16}{init:>18}{r['cpu_s']['median']:>8.2f}{r['peak_rss_mb']['median']:>9.1f}\n"
        )
    sys.stdout.write(f"ours / conventional (wall, median): {results['ratio_ours_to_conventional']:.2f}\n")
    for name, s in sizes.items():
        sys.stdout.write(f"{name}: {s['unzipped'] / 1e6:.1f} MB unzipped, {s['zipped'] / 1e6:.1f} MB zipped\n")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
