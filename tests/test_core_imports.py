"""What each shipped package may import, checked on every module it holds (found, not listed by hand)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

from infra.paths import ROOT

HEAVY = ("sklearn", "scipy", "joblib", "pandas", "matplotlib", "shap")
WEB = ("fastapi", "starlette", "pydantic", "mangum", "aws_lambda_powertools")
AWS = ("boto3", "botocore")
# The standard-library-only modules: the pre-traffic hook ships them (and infra.golden) without numpy.
STANDARD_LIBRARY_ONLY = ("model.errors", "model.manifest", "infra.golden", "model.schema")


def modules(package: str) -> list[str]:
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / package)]) if m.name != "__main__")


def loaded_by(names: list[str], forbidden: tuple[str, ...]) -> list[str]:
    """Which of `forbidden` importing `names` (in a fresh interpreter) loads."""
    code = (
        f"import json, sys\nfor n in {names!r}: __import__(n)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    found: list[str] = json.loads(out.stdout)
    return found


def test_the_core_is_found_whole() -> None:
    # The function imports model.drift; a hand-picked list once left it out
    assert {"model.drift", "model.predictor", "model.manifest"} <= set(modules("model"))


def test_importing_every_core_module_loads_numpy_only() -> None:
    assert loaded_by(modules("model"), (*HEAVY, *WEB, *AWS)) == []


@pytest.mark.parametrize("name", STANDARD_LIBRARY_ONLY)
def test_release_check_modules_need_the_standard_library_only(name: str) -> None:
    assert loaded_by([name], ("numpy", *HEAVY, *WEB, *AWS)) == []


def test_the_function_never_imports_training_libraries() -> None:
    # Every handler module but the entry point (which loads a model at import) and everything it imports
    names = [m for m in modules("handler") if m != "handler.lambda_function"]
    assert loaded_by(names, (*HEAVY, "boto3")) == []
