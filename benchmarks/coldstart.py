"""Cold start under the Lambda Runtime Interface Emulator: ours against the import floor and the conventional stack.

    python -m benchmarks.coldstart --model artifacts/model [--runs 5] [--work build/bench] [--json FILE]

Builds, in one run and from the same training output: our function and layers (with and without
precompiled bytecode); the import floor (numpy + FastAPI + Mangum + Powertools with one route, no
model, no work, on our dependencies layer: no function on this stack starts faster); and the
conventional stack (FastAPI + Mangum + Powertools + the joblib scikit-learn pipeline, as SAM's
python builder leaves it: no bytecode; and precompiled, for fairness). Each variant starts a fresh
emulator on a bare Python 3.13 and answers one real API Gateway event; the runs are interleaved so
that machine noise falls on all variants alike. Then ours runs again at LOG_LEVEL=DEBUG, where the
function writes how long each phase of its init took (imports, artifact load, answer size, app
creation, first request).
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
FLOOR = Path(__file__).resolve().parent / "floor"
VARIANTS = (
    "ours",
    "floor",
    "ours_no_bytecode",
    "ours_collector_running",
    "ours_all_at_init",
    "conventional",
    "conventional_bytecode",
)
# Our two cold-start devices, each measured by a variant of ours without it. The cyclic collector paused
# during init (handler/__init__.py): "ours_collector_running" has the pause switched off.
DEVICE_LINE = re.compile(r"^INIT_PAUSES_GC = .*$", re.MULTILINE)
# What only some routes need, built on their first request (the page, the card, the case limit, the
# counterfactual search's space and the case index, the outline extractor, the API document with its
# documentation-only models): "ours_all_at_init" builds all of it at the end of init instead.
APP_CREATED = re.compile(r'^phases\.mark\("app creation"\)$', re.MULTILINE)
ALL_AT_INIT = """
state = app.state.app_state
state.page(), state.card(), state.case_batch_limit(), predictor.space, predictor.cases
app.openapi()
import handler.outlines  # noqa: E402
"""


@dataclass(frozen=True)
class Variant:
    name: str
    layout: Layout


def _without_bytecode(source: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _collector_running(source: Path, target: Path) -> Path:
    """Our function with the collector left running through init, precompiled like ours."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    init = target / "handler" / "__init__.py"
    text, found = DEVICE_LINE.subn("INIT_PAUSES_GC = False", init.read_text())
    if found != 1:
        raise RuntimeError(f"{init}: expected one line 'INIT_PAUSES_GC = ...', found {found}")
    init.write_text(text)
    build.compile_tree(target)
    return target


def _all_at_init(source: Path, target: Path) -> Path:
    """Our function building at init what its routes otherwise build on their first request, precompiled."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    entry = target / "handler" / "lambda_function.py"
    text, found = APP_CREATED.subn(lambda m: ALL_AT_INIT + m.group(0), entry.read_text())
    if found != 1:
        raise RuntimeError(f"{entry}: expected one line 'phases.mark(\"app creation\")', found {found}")
    entry.write_text(text)
    build.compile_tree(target)
    return target


def _function_of(source: Path, target: Path, core: tuple[str, ...] = ()) -> Path:
    """A one-module function (with the named files of model/ beside it), precompiled."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "model" if core else target).mkdir(parents=True)
    shutil.copy2(source, target / "lambda_function.py")
    for name in core:
        shutil.copy2(ROOT / "model" / name, target / "model" / name)
    build.compile_tree(target)
    return target


def _sizes(work: Path, name: str, function: Path, deps: Path, model: Path) -> dict[str, int]:
    parts = (function, deps, model)
    sizes = dict(zip(("function", "dependencies_layer", "model_layer"), map(build.tree_size, parts), strict=True))
    sizes["zipped"] = sum(build.zip_tree(d, work / "zips" / f"{name}-{i}.zip") for i, d in enumerate(parts))
    sizes["unzipped"] = sizes["function"] + sizes["dependencies_layer"] + sizes["model_layer"]
    return sizes


def prepare(model: Path, work: Path) -> tuple[list[Variant], dict[str, dict[str, int]]]:
    work.mkdir(parents=True, exist_ok=True)
    client = runtime_client(work / "runtime-client")
    ours_fn, ours_deps, ours_model = work / "ours" / "function", work / "ours" / "deps", work / "ours" / "model-layer"
    build.build_function(ours_fn)
    build.build_deps(ours_deps, "x86_64")
    package.package(model, ours_model)
    floor_fn = _function_of(FLOOR / "lambda_function.py", work / "floor" / "function")
    base_fn = _function_of(
        CONVENTIONAL / "lambda_function.py", work / "conv" / "function", ("__init__.py", "schema.py")
    )
    base_deps, base_model = work / "conv" / "deps", work / "conv" / "model"
    # As SAM's python builder would leave it: test suites included (bytecode is removed below).
    build.build_deps(base_deps, "x86_64", requirements=CONVENTIONAL / "requirements.txt", strip_tests=False)
    base_model.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model / "pipeline.joblib", base_model / "pipeline.joblib")

    ours_fn_plain = _without_bytecode(ours_fn, work / "ours" / "function-nopyc")
    ours_deps_plain = _without_bytecode(ours_deps, work / "ours" / "deps-nopyc")
    ours_fn_collector = _collector_running(ours_fn, work / "ours" / "function-collector-running")
    ours_fn_eager = _all_at_init(ours_fn, work / "ours" / "function-all-at-init")
    base_fn_plain = _without_bytecode(base_fn, work / "conv" / "function-nopyc")
    base_deps_plain = _without_bytecode(base_deps, work / "conv" / "deps-nopyc")
    python, base_handler = base_interpreter(), "lambda_function.handler"

    def layout(function: Path, deps: Path, model_dir: Path, handler: str = HANDLER) -> Layout:
        return Layout(python, function, (deps / "python", client), model_dir, handler)

    variants = [
        Variant("ours", layout(ours_fn, ours_deps, ours_model / "model")),
        Variant("floor", layout(floor_fn, ours_deps, ours_model / "model", base_handler)),
        Variant("ours_no_bytecode", layout(ours_fn_plain, ours_deps_plain, ours_model / "model")),
        Variant("ours_collector_running", layout(ours_fn_collector, ours_deps, ours_model / "model")),
        Variant("ours_all_at_init", layout(ours_fn_eager, ours_deps, ours_model / "model")),
        Variant("conventional", layout(base_fn_plain, base_deps_plain, base_model, base_handler)),
        Variant("conventional_bytecode", layout(base_fn, base_deps, base_model, base_handler)),
    ]
    sizes = {
        "ours": _sizes(work, "ours", ours_fn, ours_deps, ours_model),
        "conventional": _sizes(work, "conv", base_fn_plain, base_deps_plain, base_model),
    }
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


def init_phases(variant: Variant, request: dict[str, Any], log_dir: Path, runs: int) -> dict[str, float]:
    """Median milliseconds of each init phase, as the function itself reports them at LOG_LEVEL=DEBUG."""
    found: list[dict[str, float]] = []
    for run in range(runs):
        log_path = log_dir / f"{variant.name}-phases-{run}.log"
        with variant.layout.start(log_path, env={"LOG_LEVEL": "DEBUG"}) as emulator:
            emulator.invoke(request)
            lines = emulator.log().splitlines()
        found += [json.loads(line)["init_phases_ms"] for line in lines if '"init_phases_ms"' in line]
    if not found:
        raise RuntimeError(f"{variant.name} wrote no init phases; see {log_dir}")
    return {phase: statistics.median(f[phase] for f in found) for phase in found[0]}


def summarise(samples: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(samples)}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    return out


def report(results: dict[str, Any]) -> str:
    """The table printed on screen."""
    lines = [f"{'variant':<24}{'wall s':>16}{'init ms':>18}{'cpu s':>8}{'peak MB':>9}"]
    for name in VARIANTS:
        r = results[name]
        wall = f"{r['wall_s']['median']:.3f} ({r['wall_s']['min']:.2f}-{r['wall_s']['max']:.2f})"
        init = f"{r['init_ms']['median']:.0f} ({r['init_ms']['min']:.0f}-{r['init_ms']['max']:.0f})"
        lines.append(f"{name:<24}{wall:>16}{init:>18}{r['cpu_s']['median']:>8.2f}{r['peak_rss_mb']['median']:>9.1f}")
    lines.append(f"ours / import floor (wall, median): {results['ratio_ours_to_floor']:.3f}")
    lines.append(f"ours / conventional (wall, median): {results['ratio_ours_to_conventional']:.2f}")
    lines.append(f"collector paused during init saves: {results['device_saving_collector_paused']:.1%} of the wall")
    lines.append(f"first-use building saves: {results['device_saving_first_use']:.1%} of the wall")
    lines.append(
        "init phases of ours (ms, median): " + ", ".join(f"{k} {v:.1f}" for k, v in results["phases_ms"].items())
    )
    for name, s in results["sizes_bytes"].items():
        lines.append(f"{name}: {s['unzipped'] / 1e6:.1f} MB unzipped, {s['zipped'] / 1e6:.1f} MB zipped")
    return "\n".join(lines)


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
    ours = results["ours"]["wall_s"]["median"]
    results["ratio_ours_to_floor"] = ours / results["floor"]["wall_s"]["median"]
    results["ratio_ours_to_conventional"] = ours / results["conventional"]["wall_s"]["median"]
    results["ratio_ours_to_conventional_bytecode"] = ours / results["conventional_bytecode"]["wall_s"]["median"]
    results["device_saving_collector_paused"] = 1.0 - ours / results["ours_collector_running"]["wall_s"]["median"]
    results["device_saving_first_use"] = 1.0 - ours / results["ours_all_at_init"]["wall_s"]["median"]
    results["phases_ms"] = init_phases(variants[0], request, args.work, args.runs)
    results["sizes_bytes"] = sizes
    results["warm_under_emulator"] = warm_billed_ms(variants[0], request, args.work)
    sys.stdout.write(report(results) + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
