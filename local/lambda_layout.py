"""Lay a `sam build` output out as Lambda does, for running under the emulator without a container.

Lambda puts each layer under /opt (a layer's python/ on sys.path, our model at /opt/model) and the
function's code in /var/task. Here PYTHONPATH stands in for /opt/python and MODEL_DIR for /opt/model;
the interpreter is a bare Python 3.13 with only the runtime client (awslambdaric) added, as in
Lambda's managed runtime.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from infra.build import pip_install, tree_size
from local.emulator import HANDLER, Emulator, running

RUNTIME_CLIENT = "awslambdaric==4.2.2"


@dataclass(frozen=True)
class Layout:
    python: str
    code: Path
    layers: tuple[Path, ...]
    model_dir: Path
    handler: str = HANDLER

    def start(self, log_path: Path, env: dict[str, str] | None = None) -> AbstractContextManager[Emulator]:
        """The emulator running this layout's handler, no user site-packages."""
        return running(
            python=self.python,
            code=self.code,
            layers=self.layers,
            model_dir=self.model_dir,
            handler=self.handler,
            env={"PYTHONNOUSERSITE": "1", **(env or {})},
            log_path=log_path,
        )


def base_interpreter() -> str:
    """The Python 3.13 this virtual environment was made from: no site-packages of ours."""
    return str(getattr(sys, "_base_executable", sys.executable))


def runtime_client(target: Path) -> Path:
    """awslambdaric in its own folder, standing in for the client inside Lambda's runtime."""
    if not (target / "awslambdaric").exists():
        subprocess.run(pip_install(base_interpreter(), target, [], RUNTIME_CLIENT), check=True)
    return target


def from_sam_build(build_dir: Path, scratch: Path) -> Layout:
    return Layout(
        python=base_interpreter(),
        code=build_dir / "ClassifierFunction",
        layers=(build_dir / "DependenciesLayer" / "python", runtime_client(scratch / "runtime-client")),
        model_dir=build_dir / "ModelLayer" / "model",
    )


# What the classifier runs on; the build also holds the pre-traffic hook, which ships apart.
CLASSIFIER_PARTS = ("ClassifierFunction", "DependenciesLayer", "ModelLayer")


def sizes(build_dir: Path) -> dict[str, int]:
    """Unzipped bytes of the classifier function and each of its layers in a build."""
    return {name: tree_size(build_dir / name) for name in CLASSIFIER_PARTS}
