"""Every kind of bad input, each with its status and a message naming the field, the rule and the value."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.events import event
from tests.support import Answer, body_with_literal

Invoke = Callable[[dict[str, Any]], Answer]


def _features(examples: dict[str, dict[str, float]], **changes: Any) -> dict[str, Any]:
    features: dict[str, Any] = dict(examples["benign"])
    for name, value in changes.items():
        if value is ...:
            del features[name]
        else:
            features[name] = value
    return features


@dataclass(frozen=True)
class Case:
    """One bad request: its status, and the violation (field, rule, value) and message text it must produce."""

    name: str
    build: Callable[[dict[str, dict[str, float]]], dict[str, Any]]
    status: int
    text: str
    field: str = ""
    rule: str = ""
    value: Any = None


CASES = [
    Case(
        "nan",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "radius_mean", "NaN")},
        422,
        "finite number, got 'nan'",
        "features.radius_mean",
        "finite",
        "nan",
    ),
    Case(
        "infinity",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "area_worst", "Infinity")},
        422,
        "finite number, got 'inf'",
        "features.area_worst",
        "finite",
        "inf",
    ),
    Case(
        "overflow_1e999",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "area_mean", "1e999")},
        422,
        "got 'inf'",
        "features.area_mean",
        "finite",
        "inf",
    ),
    Case(
        "string",
        lambda ex: {"body": {"features": _features(ex, radius_mean="12.5")}},
        422,
        "valid number, got '12.5'",
        "features.radius_mean",
        "type",
        "12.5",
    ),
    Case(
        "boolean",
        lambda ex: {"body": {"features": _features(ex, texture_se=True)}},
        422,
        "valid number, got True",
        "features.texture_se",
        "type",
        True,
    ),
    Case(
        "null",
        lambda ex: {"body": {"features": _features(ex, symmetry_mean=None)}},
        422,
        "valid number, got None",
        "features.symmetry_mean",
        "type",
        None,
    ),
    Case(
        "negative",
        lambda ex: {"body": {"features": _features(ex, smoothness_mean=-0.1)}},
        422,
        "greater than or equal to 0, got -0.1",
        "features.smoothness_mean",
        "non_negative",
        -0.1,
    ),
    Case(
        "nested_object",
        lambda ex: {"body": {"features": _features(ex, radius_mean={"value": 1})}},
        422,
        "got {'value': 1}",
        "features.radius_mean",
        "type",
        {"value": 1},
    ),
    Case(
        "nested_list",
        lambda ex: {"body": {"features": _features(ex, radius_mean=[1.0])}},
        422,
        "got [1.0]",
        "features.radius_mean",
        "type",
        [1.0],
    ),
    Case(
        "worst_below_mean",
        lambda ex: {"body": {"features": _features(ex, radius_worst=1.0)}},
        422,
        "features.radius_worst (1.0) must be >= features.radius_mean",
        "features.radius_worst",
        "worst_at_least_mean",
        1.0,
    ),
    Case(
        "missing_feature",
        lambda ex: {"body": {"features": _features(ex, area_se=...)}},
        422,
        "expected 30 features, got 29; missing: ['area_se']",
        "features",
        "required",
        ["area_se"],
    ),
    Case(
        "unknown_feature",
        lambda ex: {"body": {"features": _features(ex, tumour_size=3.0)}},
        422,
        "unknown keys include ['tumour_size']",
        "features",
        "known_field",
        "<dict of 31 items>",
    ),
    Case(
        "unknown_instead_of_known",
        lambda ex: {"body": {"features": _features(ex, area_se=..., tumour_size=3.0)}},
        422,
        "unknown feature 'tumour_size'",
        "features.tumour_size",
        "known_feature",
        "tumour_size",
    ),
    Case(
        "kaggle_name_in_api",
        lambda ex: {"body": {"features": {**_features(ex, concave_points_mean=...), "concave points_mean": 0.01}}},
        422,
        "unknown feature 'concave points_mean'",
        "features.concave points_mean",
        "known_feature",
        "concave points_mean",
    ),
    Case(
        "no_features_key",
        lambda ex: {"body": {"instances": [ex["benign"]]}},
        422,
        "features: Field required",
        "features",
        "required",
        "<dict of 1 items>",
    ),
    Case(
        "unknown_option",
        lambda ex: {"body": {"features": ex["benign"], "explain": "yes"}},
        422,
        "got 'yes'",
        "explain",
        "type",
        "yes",
    ),
    Case(
        "unknown_operating_point",
        lambda ex: {"body": {"features": ex["benign"], "operating_point": "lenient"}},
        422,
        "unknown operating_point 'lenient'; expected one of ['balanced', 'screening']",
        "operating_point",
        "allowed_value",
        "lenient",
    ),
    Case(
        "unknown_alpha",
        lambda ex: {"body": {"features": ex["benign"], "alpha": 0.3}},
        422,
        "unknown alpha 0.3; expected one of [0.01, 0.05]",
        "alpha",
        "allowed_value",
        0.3,
    ),
    Case(
        "top_level_array",
        lambda ex: {"body": [ex["benign"]]},
        422,
        "got '<list of 1 items>'",
        "body",
        "type",
        "<list of 1 items>",
    ),
    Case("top_level_scalar", lambda ex: {"body": 3}, 422, "got 3", "body", "type", 3),
    Case("malformed_json", lambda ex: {"raw_body": b'{"features": {"radius_mean": 1.0,'}, 400, "not valid JSON"),
    Case(
        "duplicate_key", lambda ex: {"raw_body": b'{"features": {}, "features": {}}'}, 400, "duplicate key 'features'"
    ),
    Case("deep_nesting", lambda ex: {"raw_body": b"[" * 200_000 + b"]" * 200_000}, 400, "could not be parsed"),
    Case(
        "huge_integer",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "radius_mean", "9" * 5000)},
        400,
        "could not be parsed",
    ),
    Case(
        "oversized_string",
        lambda ex: {"raw_body": b'{"features": "' + b"x" * (10 * 1024 * 1024) + b'"}'},
        413,
        "exceeds the limit of 2097152 bytes",
    ),
    Case(
        "text_plain",
        lambda ex: {"body": {"features": ex["benign"]}, "content_type": "text/plain"},
        415,
        "content type 'text/plain' is not supported",
    ),
    Case(
        "no_content_type",
        lambda ex: {"body": {"features": ex["benign"]}, "content_type": None},
        415,
        "content type 'none' is not supported",
    ),
    Case(
        "form",
        lambda ex: {"raw_body": b"radius_mean=1", "content_type": "application/x-www-form-urlencoded"},
        415,
        "send application/json",
    ),
    Case("empty_body", lambda ex: {"raw_body": b""}, 422, "Field required", "body", "required", None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(invoke: Invoke, examples: dict[str, dict[str, float]], case: Case) -> None:
    # GIVEN a request with one kind of bad input, through HTTP API v2
    answer = invoke(event("v2", "POST", "/predict", **case.build(examples)))
    # THEN the status is the documented 4xx, the message names the problem, and violations name field and rule
    assert answer.status == case.status, answer.body
    error = answer.body["error"]
    assert error["status"] == case.status
    assert case.text in error["detail"], error["detail"]
    assert "not a diagnostic tool" in answer.body["disclaimer"]
    if case.field:
        matching = [v for v in error["violations"] if v["field"] == case.field and v["rule"] == case.rule]
        assert matching, error["violations"]
        # AND the violation echoes the offending value, as sent or as a bounded description of it
        assert matching[0]["value"] == case.value
    else:
        assert error["violations"] == []


BATCH_CASES = [
    ("empty_batch", [], "instances", "batch_size", "at least 1 item"),
    ("over_the_limit", "1001", "instances", "batch_size", "expected 1 to 1000 records, got 1001"),
    ("bad_row_named", "row2_negative", "instances.1.radius_mean", "non_negative", "instances.1.radius_mean"),
    ("worst_below_mean_row", "row1_swapped", "instances.0.area_worst", "worst_at_least_mean", "instances.0.area_worst"),
]


@pytest.mark.parametrize(("case", "instances", "field", "rule", "text"), BATCH_CASES, ids=[c[0] for c in BATCH_CASES])
def test_bad_batches(
    invoke: Invoke, examples: dict[str, dict[str, float]], case: str, instances: Any, field: str, rule: str, text: str
) -> None:
    row = examples["benign"]
    if instances == "1001":
        instances = [row] * 1001
    elif instances == "row2_negative":
        instances = [row, {**row, "radius_mean": -1.0}]
    elif instances == "row1_swapped":
        instances = [{**row, "area_worst": row["area_mean"] / 2}, row]
    answer = invoke(event("v1", "POST", "/predict/batch", {"instances": instances}))
    assert answer.status == 422
    assert text in answer.body["error"]["detail"]
    assert any(v["field"] == field and v["rule"] == rule for v in answer.body["error"]["violations"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("GET", "/predict", 405), ("DELETE", "/health", 405), ("POST", "/health", 405)],
)
def test_unknown_routes_and_methods(invoke: Invoke, method: str, path: str, status: int) -> None:
    content_type = "application/json" if method == "POST" else None
    answer = invoke(event("v2", method, path, {} if method == "POST" else None, content_type=content_type))
    assert answer.status == status
    assert answer.body["error"]["status"] == status
    assert path in answer.body["error"]["detail"]


HOSTILE = [
    # (case, event keyword arguments, expected status, text in the answer)
    (
        "negative_zero_is_zero",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "concavity_se", "-0.0")},
        200,
        "label",
    ),
    (
        "largest_double_is_out_of_distribution",
        lambda ex: {"raw_body": body_with_literal(ex["benign"], "area_worst", "1e308")},
        200,
        '"out_of_distribution": true',
    ),
    (
        "unicode_feature_name",
        lambda ex: {"body": {"features": {**ex["benign"], "rädius_mëan": 1.0}}},
        422,
        "unknown keys include ['rädius_mëan']",
    ),
    ("unicode_escape_name", lambda ex: {"raw_body": b'{"features": {"\\u0000radius": 1}}'}, 422, "unknown feature"),
    (
        "json_with_charset",
        lambda ex: {"body": {"features": ex["benign"]}, "content_type": "application/json; charset=utf-8"},
        200,
        "label",
    ),
    ("xml", lambda ex: {"raw_body": b"<features/>", "content_type": "application/xml"}, 415, "application/xml"),
    (
        "multipart",
        lambda ex: {"raw_body": b"--x--", "content_type": "multipart/form-data; boundary=x"},
        415,
        "multipart/form-data",
    ),
    ("invalid_utf8", lambda ex: {"raw_body": b'{"features": "\xff\xfe"}', "base64_body": True}, 400, "JSON"),
    ("string_top_level", lambda ex: {"body": "features"}, 422, "valid dictionary"),
    ("null_top_level", lambda ex: {"raw_body": b"null"}, 422, "body"),
]


@pytest.mark.parametrize(("case", "build", "status", "text"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_bodies(
    invoke: Invoke, examples: dict[str, dict[str, float]], case: str, build: Any, status: int, text: str
) -> None:
    answer = invoke(event("v1", "POST", "/predict", **build(examples)))
    assert answer.status == status, answer.body
    assert text in json.dumps(answer.body, ensure_ascii=False), answer.body
