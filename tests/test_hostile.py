"""Hostile requests: every answer is a 4xx of at most 16 KiB, and the next good request is answered correctly."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from handler.limits import MAX_ERROR_BYTES, MAX_VIOLATIONS
from infra.paths import ROOT
from local.events import LocalContext, event
from model.schema import FEATURE_NAMES
from tests.support import body_with_literal

Examples = dict[str, dict[str, float]]
MIB = 1024 * 1024
log = logging.getLogger("tests.hostile")


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    path: str
    build: Callable[[Examples], bytes]
    status: int


CORPUS = [
    Hostile("1000_empty_records", "/predict/batch", lambda ex: json.dumps({"instances": [{}] * 1000}).encode(), 422),
    Hostile(
        "15000_unknown_keys",
        "/predict",
        lambda ex: json.dumps({"features": {f"k{i:05d}": 1.0 for i in range(15000)}}).encode(),
        422,
    ),
    Hostile("1_mb_key", "/predict", lambda ex: json.dumps({"features": {"k" * MIB: 1.0}}).encode(), 422),
    Hostile(
        "900_kb_key_twice",
        "/predict",
        lambda ex: ('{"features": {"' + "k" * 900_000 + '": 1, "' + "k" * 900_000 + '": 2}}').encode(),
        400,
    ),
    Hostile(
        "2_mib_string_in_every_field",
        "/predict",
        lambda ex: json.dumps({"features": dict.fromkeys(FEATURE_NAMES, "x" * 2 * MIB)}).encode(),
        413,
    ),
    Hostile(
        "2_mib_string_in_one_field",
        "/predict",
        lambda ex: json.dumps({"features": {**ex["benign"], "radius_mean": "x" * (2 * MIB - 2000)}}).encode(),
        422,
    ),
    Hostile(
        "nesting_100000_deep", "/predict", lambda ex: b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400
    ),
    Hostile(
        "1000000_element_array",
        "/predict",
        lambda ex: body_with_literal(ex["benign"], "radius_mean", "[" + ",".join(["0"] * 1_000_000) + "]"),
        422,
    ),
    Hostile(
        "5000_digit_number", "/predict", lambda ex: body_with_literal(ex["benign"], "radius_mean", "9" * 5000), 400
    ),
    Hostile(
        "every_field_null", "/predict", lambda ex: json.dumps({"features": dict.fromkeys(FEATURE_NAMES)}).encode(), 422
    ),
    Hostile(
        "batch_limit_plus_one",
        "/predict/batch",
        lambda ex: json.dumps({"instances": [ex["benign"]] * 1001}).encode(),
        422,
    ),
    Hostile(
        "1000_swapped_records",
        "/predict/batch",
        lambda ex: json.dumps({"instances": [{**ex["benign"], "area_worst": 0.5}] * 1000}).encode(),
        422,
    ),
    Hostile("long_path", "/" + "p" * 100_000, lambda ex: b"{}", 404),
]


def _call(module: ModuleType, e: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
    out = module.handler(e, LocalContext())
    body = out.get("body") or ""
    raw = base64.b64decode(body) if out.get("isBase64Encoded") else body.encode()
    return out["statusCode"], raw, {k.lower(): v for k, v in (out.get("headers") or {}).items()}


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_body_gets_a_small_4xx_and_the_next_request_is_served(
    lambda_module: ModuleType, examples: Examples, case: Hostile
) -> None:
    # GIVEN a hostile body, sent as API Gateway would send it
    body = case.build(examples)
    e = event("v2", "POST", case.path, raw_body=body)
    # WHEN the function handles it
    started = time.perf_counter()
    status, answer, headers = _call(lambda_module, e)
    elapsed_ms = (time.perf_counter() - started) * 1e3
    # THEN it is refused with the expected 4xx, in an answer of at most 16 KiB in our error shape
    assert status == case.status, answer[:500]
    assert len(answer) <= MAX_ERROR_BYTES, len(answer)
    error = json.loads(answer)["error"]
    assert error["status"] == status and len(error["violations"]) <= MAX_VIOLATIONS
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    log.info("%s: %d bytes in, %d, %d bytes out, %.1f ms", case.name, len(body), status, len(answer), elapsed_ms)
    # AND the next good request is answered correctly
    good = event("v2", "POST", "/predict", {"features": examples["malignant"]})
    status, answer, _ = _call(lambda_module, good)
    assert status == 200 and json.loads(answer)["label"] == "malignant"


def test_many_violations_are_capped_and_counted(lambda_module: ModuleType, examples: Examples) -> None:
    # GIVEN 1000 records whose worst area is below their mean
    bad = {**examples["benign"], "area_worst": 0.5}
    status, answer, _ = _call(lambda_module, event("v2", "POST", "/predict/batch", {"instances": [bad] * 1000}))
    error = json.loads(answer)["error"]
    # THEN 20 are listed and the other 980 counted
    assert status == 422
    assert len(error["violations"]) == MAX_VIOLATIONS and error["truncated"] == 1000 - MAX_VIOLATIONS


def test_a_batch_stops_being_checked_after_five_bad_records(lambda_module: ModuleType) -> None:
    status, answer, _ = _call(lambda_module, event("v2", "POST", "/predict/batch", {"instances": [{}] * 1000}))
    error = json.loads(answer)["error"]
    assert status == 422
    fields = {v["field"] for v in error["violations"]}
    assert fields == {"instances", *(f"instances.{i}" for i in range(5))}
    stopped = next(v for v in error["violations"] if v["rule"] == "bad_records")
    assert stopped["value"] == 995 and "995 more were not checked" in stopped["message"]


def test_too_many_keys_are_refused_before_they_are_checked(lambda_module: ModuleType, examples: Examples) -> None:
    features = {**examples["benign"], "tumour_size": 3.0}
    status, answer, _ = _call(lambda_module, event("v2", "POST", "/predict", {"features": features}))
    [violation] = json.loads(answer)["error"]["violations"]
    assert status == 422 and violation["field"] == "features" and violation["rule"] == "known_field"
    assert "at most 30 keys, got 31; unknown keys include ['tumour_size']" in violation["message"]


def _malformed(examples: Examples) -> list[tuple[str, Any]]:
    good = event("v2", "POST", "/predict", {"features": examples["benign"]})
    rest = event("v1", "POST", "/predict", {"features": examples["benign"]})
    return [
        ("http_without_method_or_path", {"requestContext": {"http": {}}}),
        ("no_raw_path", {k: v for k, v in good.items() if k != "rawPath"}),
        ("no_rest_path", {k: v for k, v in rest.items() if k != "path"}),
        ("body_not_a_string", {**good, "body": {"features": examples["benign"]}}),
        ("body_a_number", {**good, "body": 12}),
        ("base64_flag_on_plain_text", {**good, "isBase64Encoded": True, "body": "{not base64!"}),
        ("base64_flag_not_a_bool", {**good, "isBase64Encoded": "yes"}),
        ("headers_a_list", {**good, "headers": ["content-type", "application/json"]}),
        ("headers_values_not_strings", {**good, "headers": {"content-type": 7}}),
        ("request_context_a_string", {**good, "requestContext": "ctx"}),
        ("method_not_a_string", {**rest, "httpMethod": 7}),
        ("query_not_a_map", {**rest, "queryStringParameters": "a=1"}),
        ("cookies_not_a_list", {**good, "cookies": "a=1"}),
        ("event_a_list", [good]),
        ("event_a_string", "GET /health"),
        ("empty_event", {}),
        ("huge_keys", {"k" * MIB: 1, "requestContext": {}}),
    ]


def test_every_malformed_event_gets_a_400(lambda_module: ModuleType, examples: Examples) -> None:
    for name, e in _malformed(examples):
        # GIVEN an event no API Gateway sends WHEN the function handles it THEN it answers 400, small
        status, answer, headers = _call(lambda_module, e)
        assert status == 400, (name, answer[:300])
        assert len(answer) <= MAX_ERROR_BYTES, name
        detail = json.loads(answer)["error"]["detail"]
        assert detail.startswith("this function answers API Gateway (REST v1 or HTTP API v2) events"), name
        assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    # AND the function keeps serving
    status, answer, _ = _call(lambda_module, event("v1", "GET", "/health"))
    assert status == 200 and json.loads(answer)["status"] == "ok"


INIT_FAILURES = [
    ("batch_size_not_a_number", {"MAX_BATCH_SIZE": "abc"}, "MAX_BATCH_SIZE must be an integer, got 'abc'"),
    ("unknown_log_level", {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
    ("batch_over_the_answer_limit", {"MAX_BATCH_SIZE": "5000"}, "MAX_BATCH_SIZE=5000 could make an answer larger"),
    ("model_dir_is_a_file", {"MODEL_DIR": "{artifact}/manifest.json"}, "is a file; point MODEL_DIR at the directory"),
]


@pytest.mark.parametrize(("case", "env", "reason"), INIT_FAILURES, ids=[c[0] for c in INIT_FAILURES])
def test_init_failure_is_one_critical_json_line(artifact_dir: Any, case: str, env: dict[str, str], reason: str) -> None:
    # GIVEN an unusable setting WHEN the function initialises as Lambda would (a fresh interpreter)
    settings = {"MODEL_DIR": str(artifact_dir), **{k: v.format(artifact=artifact_dir) for k, v in env.items()}}
    result = subprocess.run(
        [sys.executable, "-c", "import handler.lambda_function"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **settings},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN init fails, and the last word is one CRITICAL JSON line naming the problem, with no traceback
    assert result.returncode == 1
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    record = json.loads(lines[-1])
    assert record["level"] == "CRITICAL" and reason in record["reason"], record


def test_event_logging_never_writes_the_body(artifact_dir: Any, examples: Examples) -> None:
    # GIVEN event logging turned on, as someone debugging might
    sample = event("v2", "POST", "/predict", {"features": examples["malignant"]})
    script = (
        "import json, sys\n"
        "from handler.lambda_function import handler\n"
        "from local.events import LocalContext\n"
        "out = handler(json.loads(sys.stdin.read()), LocalContext())\n"
        "assert out['statusCode'] == 200\n"
    )
    env = {"PATH": "/usr/bin:/bin", "MODEL_DIR": str(artifact_dir), "POWERTOOLS_LOGGER_LOG_EVENT": "true"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sample),
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "DEBUG"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # WHEN the function answers THEN nothing it writes, on stdout or stderr, holds a feature value
    written = result.stdout + result.stderr
    assert written
    for value in examples["malignant"].values():
        assert repr(value) not in written
    assert "features" not in written
