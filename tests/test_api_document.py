"""The OpenAPI document as strangers' tools read it: valid path values and links, examples that work,
the cross-field rules said where tools read them, servers, security and licence."""

from __future__ import annotations

import glob
import json
import re
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from mangum import Mangum

from handler.app import create_app
from handler.kserve.v2 import TENSOR_RULES
from handler.openapi import CROSS_FIELD_EXTENSION
from infra.paths import ROOT
from local.events import LocalContext, event
from model.features import RULES as OUTLINE_RULES
from model.predictor import Predictor
from model.rules import CROSS_FIELD_RULES
from tests.support import Answer

Invoke = Callable[[dict[str, Any]], Answer]
REDOCLY = ROOT / "tests" / "clients" / "typescript" / "node_modules" / ".bin" / "redocly"
LISTED_RULES = {rule.rule for rule in CROSS_FIELD_RULES} | set(TENSOR_RULES) | set(OUTLINE_RULES)


def _document(invoke: Invoke, stage_in_path: bool = False) -> dict[str, Any]:
    answer = invoke(event("v2", "GET", "/openapi.json", content_type=None, stage_in_path=stage_in_path))
    assert answer.status == 200
    document: dict[str, Any] = answer.body
    return document


def _document_of(app: FastAPI) -> dict[str, Any]:
    """GET /openapi.json of an app built here, through Mangum as the function answers it."""
    answer = Mangum(app, lifespan="off")(event("v2", "GET", "/openapi.json", content_type=None), LocalContext())
    assert answer["statusCode"] == 200
    document: dict[str, Any] = json.loads(answer["body"])
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def _concrete(path: str, valid: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: valid[m.group(1)], path)


def test_path_parameters_declare_the_served_model_and_links_reach_every_operation(
    invoke: Invoke, predictor: Predictor
) -> None:
    document = _document(invoke)
    valid = {"name": "wdbc", "version": predictor.version}
    operations = _operations(document)
    for _, _, operation in operations:
        for parameter in operation.get("parameters", []):
            # THEN every path parameter names the one value that reaches the model
            assert parameter["schema"]["enum"] == [valid[parameter["name"]]], parameter
    metadata = document["paths"]["/v2/models/{name}"]["get"]
    links = metadata["responses"]["200"]["links"]
    taking = {op["operationId"] for _, _, op in operations if op.get("parameters")} - {metadata["operationId"]}
    # AND the model's metadata links to every other operation that takes a name or a version
    assert {link["operationId"] for link in links.values()} == taking
    answer = invoke(event("v2", "GET", "/v2/models/wdbc", content_type=None)).body
    for link in links.values():
        for expression in link["parameters"].values():
            pointer = expression.removeprefix("$response.body#/").split("/")
            value = answer[pointer[0]] if len(pointer) == 1 else answer[pointer[0]][int(pointer[1])]
            assert value in valid.values(), expression


def test_every_example_is_answered_as_the_document_says(invoke: Invoke, predictor: Predictor) -> None:
    document = _document(invoke)
    valid = {"name": "wdbc", "version": predictor.version}
    posts = 0
    for method, path, operation in _operations(document):
        content = operation["responses"]["200"]["content"]["application/json"]
        url = _concrete(path, valid)
        if method == "post":
            examples = operation["requestBody"]["content"]["application/json"]["examples"]
            answers = [invoke(event("v2", "POST", url, example["value"])) for example in examples.values()]
            # THEN every request example is accepted, and the first one's answer is the documented example
            assert [a.status for a in answers] == [200] * len(examples), (path, [a.body for a in answers])
            assert answers[0].body == content["example"], path
            posts += 1
        else:
            answer = invoke(event("v2", "GET", url, content_type=None))
            assert answer.status == 200 and answer.body == content["example"], path
    assert posts == 7  # /predict, /predict/batch, two V2 infer, two V1, /features
    infer = document["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"]
    assert set(infer["examples"]) == {"tensor", "pd"}
    predict = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert [e["value"]["features"] == predictor.manifest.examples[name].features for name, e in predict.items()] == [
        True,
        True,
    ]


def test_building_the_examples_counts_no_prediction(lambda_module: ModuleType) -> None:
    # GIVEN an app whose document was not built yet
    app = create_app(lambda_module.settings, lambda_module.predictor)
    window = app.state.app_state.window
    # WHEN the document is built, its answers' examples with it
    app.openapi()
    # THEN the drift window saw none of them
    assert window.predictions == 0 and window.requests == 0


def test_the_rules_a_schema_cannot_say_are_listed_once_and_named_on_each_field(invoke: Invoke) -> None:
    document = _document(invoke)
    listed = document[CROSS_FIELD_EXTENSION]["rules"]
    assert [r["rule"] for r in listed] == [r.rule for r in CROSS_FIELD_RULES] + list(TENSOR_RULES) + list(OUTLINE_RULES)
    properties = document["components"]["schemas"]["Features"]["properties"]
    for rule in CROSS_FIELD_RULES:
        assert f"Must be >= {rule.at_least} (rule {rule.rule}" in properties[rule.field]["description"]
    assert "Must be" not in properties["radius_mean"]["description"]


def test_servers_security_and_licence(invoke: Invoke, lambda_module: ModuleType) -> None:
    # GIVEN the open function (AuthMode=NONE), reached directly and through a named stage
    direct, staged = _document(invoke), _document(invoke, stage_in_path=True)
    assert [s["url"] for s in direct["servers"]] == ["/"]
    assert [s["url"] for s in staged["servers"]] == ["/prod"]
    assert direct["info"]["license"]["identifier"] == "MIT" and "contact" not in direct["info"]
    # THEN every operation says it needs no credentials
    assert all(op["security"] == [] for _, _, op in _operations(direct))
    assert "securitySchemes" not in direct["components"]
    # GIVEN the function behind AWS_IAM, with a place to report problems
    settings = lambda_module.settings._replace(auth_mode="AWS_IAM", contact_url="https://example.org/issues")
    document = _document_of(create_app(settings, lambda_module.predictor))
    # THEN every operation asks for a SigV4 signature, and the document says where to report problems
    assert all(op["security"] == [{"sigv4": []}] for _, _, op in _operations(document))
    assert document["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert document["info"]["contact"]["url"] == "https://example.org/issues"


@pytest.mark.clients
@pytest.mark.parametrize("auth_mode", ["NONE", "AWS_IAM"])
def test_redocly_recommended_ruleset_finds_nothing(lambda_module: ModuleType, tmp_path: Path, auth_mode: str) -> None:
    settings = lambda_module.settings._replace(auth_mode=auth_mode)
    document = _document_of(create_app(settings, lambda_module.predictor))
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    # No rule is turned off: the recommended ruleset as Redocly ships it
    command = [str(REDOCLY), "lint", str(path), "--extends", "recommended", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, result.stdout


@pytest.mark.integration
@pytest.mark.slow  # about 30 s of generated requests
def test_a_strangers_schemathesis_run_reaches_everything_and_fails_only_on_the_listed_rules(
    serve: Callable[..., str], artifact_dir: Path, tmp_path: Path
) -> None:
    # GIVEN the API served, and schemathesis as a stranger runs it: no hooks, nothing of ours
    served = serve(artifact_dir)
    with urllib.request.urlopen(f"{served}/openapi.json", timeout=30) as response:
        document = json.loads(response.read())
    listed = {r["rule"] for r in document[CROSS_FIELD_EXTENSION]["rules"]}
    assert listed == LISTED_RULES
    st = str(Path(sys.executable).with_name("st"))
    command = [st, "run", f"{served}/openapi.json", "--checks", "all", "--mode", "all", "--max-examples", "60"]
    command += ["--seed", "20261202", "--report", "junit", "--report-dir", str(tmp_path / "junit")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=540, check=False, cwd=tmp_path)
    output = result.stdout + result.stderr
    # THEN every operation is reached with valid data: no operation answers only 404
    assert "Missing test data" not in output and "Tested: 18" in output, output[-3000:]
    # AND every failure it reports is a schema-valid request refused for one of the listed rules
    failures = [
        failure
        for report in glob.glob(str(tmp_path / "junit" / "*.xml"))
        for case in ET.parse(report).iter("testcase")
        for failure in case
        if failure.tag in ("failure", "error")
    ]
    for failure in failures:
        text = failure.text or ""
        assert "ST202 Schema-valid request rejected" in text and text.count("- ST") == 1, text[:2000]
        named = set(re.findall(r'rule"?:?\s*"?(\w+)', text))
        assert named and named <= listed, text[:2000]
