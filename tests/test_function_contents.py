"""The function ships only what it runs: every module of the build is imported by some route.

The built function (infra.build, as `sam build` runs it) is imported from its own folder, with no
checkout on the path, and every route is called, each option included; then each shipped module
must have been loaded. A module that no route imports belongs to the offline tools (cohort/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra import build
from infra.paths import ROOT
from local.events import event
from model import manifest as manifest_io
from model.demo_image import demo
from model.schema import FEATURE_NAMES

# Calls every route with the events in argv[1]; prints the statuses and the modules loaded from the build.
DRIVER = """
import json, sys
from pathlib import Path
import handler.lambda_function as function
from local_context import Context

root = Path.cwd().resolve()
statuses = [function.handler(e, Context())["statusCode"] for e in json.loads(Path(sys.argv[1]).read_text())]
loaded = sorted(
    str(Path(m.__file__).resolve().relative_to(root))
    for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and Path(m.__file__).resolve().is_relative_to(root)
)
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""

CONTEXT = """
class Context:
    function_name = "wdbc-classifier"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:wdbc-classifier"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"
"""


def _every_route(artifact_dir: Path) -> list[tuple[dict[str, object], int]]:
    """One event per route and option, and one per kind of error, with the status each must get."""
    document = json.loads((artifact_dir / "manifest.json").read_text())
    features = manifest_io.parse(document).examples["malignant"].features
    version = document["model_version"]
    row = [features[name] for name in FEATURE_NAMES]
    record = {"features": features, "explain": True, "counterfactual": True, "similar_cases": 3}
    v2 = {"inputs": [{"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": row}]}
    v1 = {"instances": [row]}
    calls = [
        ("GET", "/", None, 200),
        ("GET", "/health", None, 200),
        ("GET", "/model", None, 200),
        ("GET", "/docs", None, 200),
        ("GET", "/docs/assets/swagger-ui.css", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("POST", "/predict", record, 200),
        ("POST", "/predict/batch", {"instances": [features, features], "similar_cases": 2}, 200),
        ("POST", "/predict", {"features": {**features, "radius_mean": -1.0}}, 422),
        ("POST", "/predict", {"features": {}}, 422),
        ("GET", "/no-such-route", None, 404),
        ("GET", "/v2", None, 200),
        ("GET", "/v2/health/live", None, 200),
        ("GET", "/v2/health/ready", None, 200),
        ("GET", "/v2/models/wdbc", None, 200),
        ("GET", f"/v2/models/wdbc/versions/{version}", None, 200),
        ("GET", "/v2/models/wdbc/ready", None, 200),
        ("POST", "/v2/models/wdbc/infer", v2, 200),
        ("POST", "/v2/models/wdbc/infer", {"inputs": []}, 400),
        ("GET", "/v1/models/wdbc", None, 200),
        ("POST", "/v1/models/wdbc:predict", v1, 200),
        ("POST", "/v1/models/wdbc:explain", v1, 200),
        ("GET", "/features/demo", None, 200),
        ("POST", "/features", {"outlines": demo().outlines}, 200),
    ]
    return [(event("v2", method, path, body), status) for method, path, body, status in calls]


def test_the_built_function_ships_only_modules_its_routes_import(artifact_dir: Path, tmp_path: Path) -> None:
    # GIVEN the function as infra.build makes it for `sam build`
    out = tmp_path / "function"
    build.build_function(out)
    shipped = sorted(str(p.relative_to(out)) for p in out.rglob("*.py"))
    assert "handler/lambda_function.py" in shipped and "model/predictor.py" in shipped
    calls = _every_route(artifact_dir)
    (tmp_path / "events.json").write_text(json.dumps([e for e, _ in calls]))
    (out / "local_context.py").write_text(CONTEXT)
    # WHEN every route is called from the build's own folder, with no checkout on the path
    env = {**os.environ, "MODEL_DIR": str(artifact_dir), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(out)}
    env["POWERTOOLS_METRICS_NAMESPACE"] = "WdbcClassifierTest"
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp_path / "events.json")],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN each route answered as it should, and every module shipped was imported by one of them
    assert answer["statuses"] == [status for _, status in calls]
    assert sorted(set(shipped) - set(answer["loaded"]) - {"local_context.py"}) == []
    assert not any(name.startswith(("cohort/", "training/", "infra/")) for name in shipped)


def test_the_functions_modules_evaluate_their_annotations_when_defined() -> None:
    # GIVEN the packages the function ships
    sources = [p for package in build.FUNCTION_PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    # THEN none postpones its annotations: NamedTuple, pydantic and FastAPI would compile each string again at
    # init (about 4 ms of a cold start, BENCHMARKS.md)
    postponed = [str(p.relative_to(ROOT)) for p in sources if "from __future__ import annotations" in p.read_text()]
    assert sources and not postponed, postponed
