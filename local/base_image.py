"""The python3.13 Lambda base image that `sam local` runs the function in: the real one, or a stand-in.

SAM's local commands build each function's image `FROM public.ecr.aws/lambda/python:3.13-<arch>`.
Where that image can be pulled, it is used as it is. Where it cannot (no registry but PyPI, Debian's
and npm's is reachable), a stand-in with the same contract is built and imported under that name:

- a Debian root (`debootstrap --variant=minbase`): bookworm with this machine's CPython 3.13 copied to
  /var/lang for x86_64, trixie with Debian's Python 3.13 linked there for arm64;
- /var/runtime holding the runtime client (awslambdaric) and boto3, as in Lambda's managed runtime;
- /var/runtime/bootstrap starting the client with the handler, /var/task and /opt/python on the path;
- the real image's environment (LAMBDA_TASK_ROOT, LD_LIBRARY_PATH, PATH) and working directory.

The stand-in says it is one: its environment carries LAMBDA_BASE_IMAGE_STAND_IN with the recipe's hash,
which is also how a cached stand-in is known to be current. What it cannot prove: the real image's
Amazon Linux libraries, its Python build and its exact boto3.

    python -m local.base_image [--arch x86_64|arm64] [--rebuild]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra.build import pip_install
from local import docker
from local.lambda_layout import RUNTIME_CLIENT, base_interpreter

LOG = logging.getLogger("local.base_image")

IMAGE = "public.ecr.aws/lambda/python:3.13-{arch}"
STAND_IN_VARIABLE = "LAMBDA_BASE_IMAGE_STAND_IN"
# The managed runtime ships boto3; this is the one our tests pin.
RUNTIME_PACKAGES = (RUNTIME_CLIENT, "boto3==1.44.8")
MIRROR = "http://deb.debian.org/debian"
# Per architecture: Debian release, pip's platform tag, where Python 3.13 comes from.
ROOTS = {
    "x86_64": ("bookworm", "manylinux2014_x86_64", "copied"),
    "arm64": ("trixie", "manylinux2014_aarch64", "debian"),
}
ENVIRONMENT = {
    "LANG": "en_US.UTF-8",
    "TZ": ":/etc/localtime",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
}
# Under qemu-user, OpenBLAS takes the CPU that qemu reports for one whose kernels qemu computes wrongly
# (found: a (3, 30) x (30, 100) product off by 7.6e7 in one row, so an RBF margin by 0.5): the arm64
# stand-in pins the kernels of Graviton2's core, Neoverse N1, which emulate correctly.
EMULATION_ENVIRONMENT = {"x86_64": {}, "arm64": {"OPENBLAS_CORETYPE": "NEOVERSEN1"}}
# The runtime's own start: the handler's folder and the layers' python/ before the runtime's packages.
BOOTSTRAP = """#!/bin/sh
export PYTHONPATH="/var/task:/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime"
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
"""
# Not in the managed runtime either, and large: the test suite, IDLE, Tk, the static library.
LEFT_OUT = ("test", "idlelib", "tkinter", "turtledemo", "site-packages", "config-3.13-*")


def image_name(arch: str) -> str:
    return IMAGE.format(arch=arch)


def recipe(arch: str) -> str:
    """A hash of everything the stand-in is built from: a change rebuilds it."""
    parts = (
        ROOTS[arch],
        RUNTIME_PACKAGES,
        ENVIRONMENT,
        EMULATION_ENVIRONMENT[arch],
        BOOTSTRAP,
        LEFT_OUT,
        sys.version if arch == "x86_64" else "",
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def stand_in_recipe(name: str) -> str | None:
    """The recipe of a stand-in present under `name`; None for the real image; KeyError when absent."""
    for entry in docker.image_environment(name):
        key, _, value = entry.partition("=")
        if key == STAND_IN_VARIABLE:
            return value
    return None


def ensure(arch: str = "x86_64", rebuild: bool = False) -> tuple[str, bool]:
    """The image's name, and whether it is the stand-in; pulled or built only when missing or stale."""
    name = image_name(arch)
    if not rebuild:
        try:
            found = stand_in_recipe(name)
        except KeyError:
            found = ""
        if found is None:
            return name, False
        if found == recipe(arch):
            return name, True
        if found == "" and docker.pull(name, arch):
            return name, False
    started = time.perf_counter()
    build(arch, name)
    LOG.info("built the stand-in %s in %.0f s", name, time.perf_counter() - started)
    return name, True


def build(arch: str, name: str) -> None:
    release, platform, python = ROOTS[arch]
    with tempfile.TemporaryDirectory(prefix="lambda-base-") as scratch:
        root = Path(scratch) / "root"
        debootstrap(root, arch, release, python)
        if python == "copied":
            copy_python(root / "var" / "lang")
        else:
            (root / "var" / "lang" / "bin").mkdir(parents=True)
            (root / "var" / "lang" / "bin" / "python3.13").symlink_to("/usr/bin/python3.13")
        runtime = root / "var" / "runtime"
        install_runtime(runtime, platform)
        (runtime / "bootstrap").write_text(BOOTSTRAP)
        (runtime / "bootstrap").chmod(0o755)
        (root / "var" / "task").mkdir(parents=True, exist_ok=True)
        (root / "opt").mkdir(exist_ok=True)
        environment = [f"{key}={value}" for key, value in {**ENVIRONMENT, **EMULATION_ENVIRONMENT[arch]}.items()]
        environment.append(f"{STAND_IN_VARIABLE}={recipe(arch)}")
        docker.import_root(root, name, arch, environment, workdir="/var/task")


def debootstrap(root: Path, arch: str, release: str, python: str) -> None:
    include = ["--include=python3"] if python == "debian" else []
    command = ["debootstrap", "--variant=minbase", f"--arch={'amd64' if arch == 'x86_64' else 'arm64'}"]
    subprocess.run([*command, *include, release, str(root), MIRROR], check=True, stdout=subprocess.DEVNULL)
    # The package lists and caches are not part of a runtime image.
    shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    for lists in (root / "var" / "lib" / "apt" / "lists").glob("*_Packages"):
        lists.unlink()


def copy_python(target: Path) -> None:
    """This machine's CPython 3.13 (the same build as the function's venv) under /var/lang."""
    prefix = Path(base_interpreter()).resolve().parent.parent
    shutil.copytree(prefix / "bin", target / "bin", symlinks=True)
    shutil.copytree(prefix / "lib", target / "lib", symlinks=True, ignore=shutil.ignore_patterns(*LEFT_OUT))
    (target / "lib" / "python3.13" / "site-packages").mkdir()


def install_runtime(runtime: Path, platform: str) -> None:
    command = pip_install(base_interpreter(), runtime, [platform], "--root-user-action=ignore", *RUNTIME_PACKAGES)
    subprocess.run(command, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=sorted(ROOTS), default="x86_64")
    parser.add_argument("--rebuild", action="store_true", help="build the stand-in even if an image is there")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    name, stand_in = ensure(args.arch, args.rebuild)
    LOG.info("%s: %s", name, "the stand-in (see local/base_image.py)" if stand_in else "the real image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
