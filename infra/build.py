"""Build the function and its dependencies layer for Lambda, bytecode precompiled.

    python -m infra.build function --out DIR
    python -m infra.build deps --out DIR [--arch x86_64|arm64]
    python -m infra.build hook --out DIR

SAM's python builder writes no bytecode, and a read-only /opt without .pyc cold-starts 2.5 times
slower, so both are compiled here with unchecked-hash pycs (file timestamps cannot invalidate
them). The dependencies come from requirements.lock (every distribution, transitive ones included,
pinned with its hashes; `make lock` writes it from requirements.txt) as binary wheels for the target
platform, installed with --require-hashes.
Must run under Python 3.13, the runtime's version, so that the bytecode matches.
"""

from __future__ import annotations

import argparse
import compileall
import json
import logging
import py_compile
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from infra.paths import ROOT
from infra.sbom import report_path
from model.artifact import zip_bytes

RUNTIME = (3, 13)
PLATFORMS = {
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"],
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
}
FUNCTION_PACKAGES = ("handler", "model")
# `python -m model` runs the offline tools (the cohort package) from a checkout; the function never does.
FUNCTION_EXCLUDES = ("__pycache__", "*.pyc", "__main__.py")
# The pre-traffic hook: its module at the top, the release check and the standard-library-only parts
# of the core it reads manifests with.
HOOK_FILES = (
    "infra/pretraffic.py",
    "infra/__init__.py",
    "infra/golden.py",
    "model/__init__.py",
    "model/errors.py",
    "model/manifest.py",
)
# Test suites and tooling the function never imports.
STRIP = ("tests", "__pycache__")
STRIP_FILES = ("*.pyi", "py.typed")
log = logging.getLogger("infra.build")


class BuildError(RuntimeError):
    """The build cannot produce what Lambda needs."""


def _check_interpreter() -> None:
    if sys.version_info[:2] != RUNTIME:
        raise BuildError(
            f"build with Python {RUNTIME[0]}.{RUNTIME[1]} (the Lambda runtime's), not {sys.version.split()[0]}: "
            "bytecode is version-specific"
        )


def compile_tree(directory: Path) -> int:
    """Precompile every .py below `directory`; returns the number of files compiled."""
    ok = compileall.compile_dir(
        directory,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not ok:
        raise BuildError(f"compileall failed below {directory}")
    return sum(1 for _ in directory.rglob("*.pyc"))


def tree_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def zip_tree(directory: Path, target: Path) -> int:
    """A deterministic zip of `directory` (sorted entries, fixed timestamps); returns its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    files = {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    target.write_bytes(zip_bytes(files, zipfile.ZIP_DEFLATED, mode=0o644))
    return target.stat().st_size


def build_function(out: Path) -> dict[str, int]:
    """handler/ and model/ sources with their bytecode, nothing else: every module a route imports."""
    _check_interpreter()
    out.mkdir(parents=True, exist_ok=True)
    for package in FUNCTION_PACKAGES:
        shutil.rmtree(out / package, ignore_errors=True)
        shutil.copytree(ROOT / package, out / package, ignore=shutil.ignore_patterns(*FUNCTION_EXCLUDES))
    return {"files_compiled": compile_tree(out), "bytes": tree_size(out)}


def build_hook(out: Path) -> dict[str, int]:
    """The pre-traffic hook: pretraffic.py at the top, the release check and the manifest beside it; no numpy."""
    out.mkdir(parents=True, exist_ok=True)
    for name in HOOK_FILES:
        source = ROOT / name
        target = out / (source.name if name == "infra/pretraffic.py" else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return {"files_compiled": compile_tree(out), "bytes": tree_size(out)}


def strip(site: Path) -> int:
    """Remove test suites, stubs and stale bytecode; returns bytes removed."""
    before = tree_size(site)
    for pattern in STRIP:
        for path in sorted(site.glob(f"*/**/{pattern}"), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
    for pattern in STRIP_FILES:
        for path in site.rglob(pattern):
            path.unlink()
    shutil.rmtree(site / "bin", ignore_errors=True)
    return before - tree_size(site)


LOCK = ROOT / "requirements.lock"


def pip_install(python: str, target: Path, platforms: Sequence[str], *args: str) -> list[str]:
    """The pip command installing binary wheels for CPython 3.13 on `platforms` (any: this machine's) into `target`:
    a layer's folder, or a runtime's."""
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(target), "--implementation", "cp", "--python-version", f"{RUNTIME[0]}.{RUNTIME[1]}"]
    command += ["--only-binary=:all:", *(f"--platform={platform}" for platform in platforms), *args]
    return command


def build_deps(out: Path, arch: str, requirements: Path = LOCK, strip_tests: bool = True) -> dict[str, int]:
    """Requirements as binary wheels for python3.13 on `arch`, under out/python.

    The lock file is installed as it stands (--require-hashes --no-deps); another file resolves freely,
    as a conventional build would.
    """
    _check_interpreter()
    site = out / "python"
    shutil.rmtree(site, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = pip_install(
        sys.executable,
        site,
        PLATFORMS[arch],
        "--no-compile",  # compiled below, after stripping, with unchecked-hash pycs
        "--upgrade",
        # What pip installed, with each archive's sha256 and metadata (licences): the SBOM reads it.
        "--report",
        str(report_path(out)),
        *(["--require-hashes", "--no-deps"] if requirements == LOCK else []),
        "-r",
        str(requirements),
    )
    subprocess.run(command, check=True)
    removed = strip(site) if strip_tests else 0
    return {"files_compiled": compile_tree(site), "bytes": tree_size(site), "bytes_stripped": removed}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("function", "deps", "hook"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    args = parser.parse_args(argv)
    try:
        if args.what == "deps":
            report = build_deps(args.out, args.arch)
        else:
            report = build_function(args.out) if args.what == "function" else build_hook(args.out)
    except (BuildError, subprocess.CalledProcessError) as err:
        log.error("%s", err)
        return 2
    sys.stdout.write(json.dumps({"what": args.what, "arch": args.arch, **report}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
