"""Helpers that several test modules share; fixtures live in conftest.py."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.paths import ROOT
from model.schema import FEATURES
from training import data


@dataclass
class Answer:
    """A Lambda proxy response, decoded: status, lower-case headers, and the body as JSON where it is JSON."""

    status: int
    headers: dict[str, str]
    body: Any


def write_csv(
    path: Path, dataset: data.Dataset, style: str = "kaggle", rows: slice = slice(None), trailing_comma: bool = True
) -> Path:
    """The embedded rows as the Kaggle/UCI file (id, diagnosis, 'concave points_mean', trailing comma),
    scikit-learn's names ('mean radius', 'target' as names) or canonical names."""
    names = {
        "kaggle": [f.aliases[1] for f in FEATURES],
        "sklearn": [f.aliases[0] for f in FEATURES],
        "canonical": [f.name for f in FEATURES],
    }[style]
    label_header, labels = ("diagnosis", ("B", "M")) if style == "kaggle" else ("target", ("benign", "malignant"))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", label_header, *names, *([""] if trailing_comma else [])])
        for i in range(len(dataset.y))[rows]:
            cells = [str(842000 + i), labels[dataset.y[i]], *(repr(float(v)) for v in dataset.x[i])]
            writer.writerow(cells + ([""] if trailing_comma else []))
    return path


def edit_csv(path: Path, line: int, column: str, value: str) -> Path:
    """Set one cell (1-based line, column by header name) of a CSV file in place."""
    rows = list(csv.reader(path.open()))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def body_with_literal(features: dict[str, Any], name: str, literal: str) -> bytes:
    """A /predict body whose `name` holds a literal no JSON encoder writes (NaN, Infinity, 1e999, 5000 digits)."""
    marker = "__LITERAL__"
    return json.dumps({"features": {**features, name: marker}}).replace(f'"{marker}"', literal).encode()


REQUEST_TIMEOUT_S = 30  # each schemathesis request's deadline


def schemathesis_run(
    base_url: str, max_examples: int, report_dir: Path, behind_sam_local: bool = False, timeout: float = 540
) -> int:
    """schemathesis, every check, positive and negative data, against a served API; the cases it ran.

    Fails the calling test on any failure it finds, or when not every generated case passed. Behind
    `sam local start-api`, a method with no route is answered by SAM's gateway (403) as by API
    Gateway (404), never by the function: the undeclared-method check is left out there.
    """
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    if behind_sam_local:
        env["SCHEMATHESIS_BEHIND_SAM_LOCAL"] = "1"
    command = [
        str(st),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        "20261127",
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        # Speed is measured by the benchmarks, not asserted here: schemathesis' own 10 s response-time check
        # would fail a request that waits for `sam local` to start a container on a busy machine.
        "--max-response-time",
        str(REQUEST_TIMEOUT_S),
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        *(["--exclude-checks", "unsupported_method"] if behind_sam_local else []),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output[-2000:]
    assert generated.group(1) == generated.group(2), output[-2000:]
    return int(generated.group(1))


def docker_or_skip() -> None:
    """Fail without a Docker daemon under `python -m local.docker` (as `make test` runs), skip elsewhere."""
    import pytest

    from local import docker

    if not docker.available():
        if os.environ.get(docker.REQUIRED_VARIABLE):
            pytest.fail("no Docker daemon answers, though `python -m local.docker` should have started one")
        pytest.skip("no Docker daemon: `make test` starts one (python -m local.docker)")
