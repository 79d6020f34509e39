"""The inference core stays numpy-only: importing it must not load heavy or web libraries."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sklearn", "scipy", "joblib", "pandas", "fastapi", "boto3", "botocore", "starlette", "pydantic")


def test_importing_the_core_loads_numpy_only() -> None:
    code = (
        "import sys, model, model.artifact, model.predictor, model.explain, model.rules, model.csvio, "
        "model.schema, model.errors, model.cli, model.ood\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
