"""Clients we do not ship, used unchanged against the served API: KServe's SDK (V2 infer, V1 predict and
explain), the client generated from the Open Inference Protocol's own OpenAPI document, and clients
generated from our /openapi.json in Python (openapi-python-client) and TypeScript (openapi-typescript
with openapi-fetch, compiled by tsc --strict and run by node). Each answer is compared with a direct call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.paths import ROOT
from model.schema import FEATURE_NAMES

pytestmark = [pytest.mark.integration, pytest.mark.clients]
CLIENTS = ROOT / "tests" / "clients"
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
TYPESCRIPT = CLIENTS / "typescript"
# The same rows alone and in a batch of two may differ in the last digit: BLAS takes other kernels.
TOLERANCE = 1e-12


def _flat(rows: list[list[float]]) -> list[float]:
    return [value for row in rows for value in row]


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _run(command: list[str], cwd: Path = ROOT, path: Path | None = None) -> str:
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}"} if path else None
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _client(script: str, *args: str) -> Any:
    if not CLIENTS_PYTHON.exists():
        pytest.fail(".venv-clients is missing: `make test` builds it from requirements-clients.txt")
    return json.loads(_run([str(CLIENTS_PYTHON), str(CLIENTS / script), *args]).splitlines()[-1])


@pytest.fixture
def api(serve: Callable[..., str], artifact_dir: Path) -> str:
    return serve(artifact_dir)


@pytest.fixture
def records(examples: dict[str, dict[str, float]]) -> list[dict[str, float]]:
    return [{name: examples[kind][name] for name in FEATURE_NAMES} for kind in ("benign", "malignant")]


def test_kserve_sdk_infers_v2_and_v1_and_explains(api: str, records: list[dict[str, float]]) -> None:
    rows = [list(r.values()) for r in records]
    # WHEN KServe's SDK calls the API as it calls any KServe server (its V2 body names the model)
    got = _client("kserve_sdk.py", api, json.dumps(rows))
    direct = [_post(f"{api}/predict", {"features": r, "explain": True}) for r in records]
    # THEN V2 infer answers the same probabilities and Shapley values as /predict
    assert got["v2_ready"] and got["v1_ready"] and got["v2_model"] == "wdbc"
    proba = [v for d in direct for v in (1 - d["probability_malignant"], d["probability_malignant"])]
    assert _flat(got["v2_outputs"]["predict_proba"]) == pytest.approx(proba, rel=0, abs=TOLERANCE)
    assert got["v2_outputs"]["predict"] == [int(d["label"] == "malignant") for d in direct]
    shap = [d["explanation"]["contributions"][n] for d in direct for n in FEATURE_NAMES]
    assert _flat(got["v2_outputs"]["shap_values"]) == pytest.approx(shap, rel=0, abs=TOLERANCE)
    # AND V1 predict answers what /predict/batch does, and V1 explain the explanations of /predict
    batch = _post(f"{api}/predict/batch", {"instances": records})["predictions"]
    assert got["v1_predict"]["predictions"] == [{k: v for k, v in p.items() if k != "explanation"} for p in batch]
    for explained, d in zip(got["v1_explain"]["explanations"], direct, strict=True):
        assert explained["contributions"] == pytest.approx(d["explanation"]["contributions"], rel=0, abs=TOLERANCE)
        assert explained["base_value"] == d["explanation"]["base_value"] and explained["label"] == d["label"]


def test_open_inference_protocol_client(api: str, records: list[dict[str, float]]) -> None:
    rows = [list(r.values()) for r in records]
    got = _client("open_inference_client.py", api, json.dumps(rows))
    direct = [_post(f"{api}/predict", {"features": r}) for r in records]
    assert got["model"] == "wdbc"
    assert got["outputs"]["predict"] == [float(d["label"] == "malignant") for d in direct]
    flat = [value for d in direct for value in (1 - d["probability_malignant"], d["probability_malignant"])]
    assert got["outputs"]["predict_proba"] == pytest.approx(flat, rel=0, abs=TOLERANCE)


def _openapi(api: str, target: Path) -> Path:
    with urllib.request.urlopen(f"{api}/openapi.json", timeout=30) as response:
        target.write_bytes(response.read())
    return target


def test_generated_python_client_covers_every_operation(
    api: str, records: list[dict[str, float]], tmp_path: Path
) -> None:
    # GIVEN a client generated from the served document, as the README says (ruff formats it)
    document = _openapi(api, tmp_path / "openapi.json")
    generator = str(CLIENTS_PYTHON.parent / "openapi-python-client")
    output = _run([generator, "generate", "--path", str(document)], cwd=tmp_path, path=ROOT / ".venv" / "bin")
    # THEN it generates without a warning: every operation and model is there
    assert "Warning" not in output and "WARNING" not in output, output
    project = tmp_path / "wdbc-breast-tumour-classifier-client"
    operations = {p.stem for p in project.glob("*/api/*/*.py") if p.stem != "__init__"}
    assert {"predict_predict_post", "predict_batch_predict_batch_post", "infer_v2_models_name_infer_post"} <= operations
    # AND its calls answer as direct ones do
    got = _client("generated_python.py", str(project), api, json.dumps(records))
    assert got["predict"] == _post(f"{api}/predict", {"features": records[1], "explain": True, "alpha": 0.01})
    assert got["batch"] == _post(f"{api}/predict/batch", {"instances": records})
    tensor = {"name": "input-0", "shape": [2, 30], "datatype": "FP64", "data": [list(r.values()) for r in records]}
    assert got["infer"] == _post(f"{api}/v2/models/wdbc/infer", {"inputs": [tensor]})


def test_typescript_client_compiles_strict_and_runs(api: str, records: list[dict[str, float]], tmp_path: Path) -> None:
    if not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
        pytest.fail("tests/clients/typescript/node_modules is missing: `make test` runs npm ci there")
    # GIVEN types generated from the served document (the README's command) and the client program
    work = tmp_path / "ts"
    work.mkdir()
    for name in ("client.ts", "tsconfig.json", "package.json"):
        shutil.copy2(TYPESCRIPT / name, work / name)
    (work / "node_modules").symlink_to(TYPESCRIPT / "node_modules")
    bin_dir = TYPESCRIPT / "node_modules" / ".bin"
    document = _openapi(api, work / "openapi.json")
    _run(
        [str(bin_dir / "openapi-typescript"), str(document), "--default-non-nullable", "false", "-o", "schema.d.ts"],
        work,
    )
    # WHEN tsc --strict compiles it and node runs it
    _run([str(bin_dir / "tsc"), "-p", "."], work)
    got = json.loads(_run(["node", "build/client.js", api, json.dumps(records)], work).splitlines()[-1])
    # THEN its answers are the direct ones
    assert got["label"] == "malignant"
    assert got["predict"] == _post(f"{api}/predict", {"features": records[1], "explain": True, "alpha": 0.01})
    assert got["batch"] == _post(f"{api}/predict/batch", {"instances": records})
