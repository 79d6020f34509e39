"""schemathesis against the app served by uvicorn on loopback: every check, positive and negative data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infra.paths import ROOT

pytestmark = pytest.mark.integration


def test_schemathesis_finds_nothing(serve: Callable[..., str], artifact_dir: Path, tmp_path: Path) -> None:
    served = serve(artifact_dir)
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    command = [
        str(st),
        "run",
        f"{served}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        "150",
        "--seed",
        "20261127",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output[-2000:]
    assert int(generated.group(1)) >= 500 and generated.group(1) == generated.group(2)
