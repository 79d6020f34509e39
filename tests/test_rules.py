"""Input rules of the core: hard rules as violations, soft rules as warnings."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from handler import limits
from handler.settings import SettingsError
from model.errors import Violation
from model.predictor import Predictor
from model.rules import (
    CROSS_FIELD_RULES,
    HARD_RULES,
    RULES,
    SOFT_RULES,
    WORST_AT_LEAST_MEAN,
    soft_warnings,
    violations,
)
from model.schema import INDEX


def test_soft_warnings_name_the_value_and_the_rule(predictor: Predictor, benign_row: np.ndarray) -> None:
    # GIVEN one clean row and three rows that each break one soft rule
    high = benign_row.copy()
    high[INDEX["area_worst"]] = 99999.0
    lonely = benign_row.copy()
    lonely[INDEX["concavity_se"]] = 0.0
    swapped = benign_row.copy()
    swapped[INDEX["radius_se"]] = benign_row[INDEX["radius_mean"]] * 2
    rows = np.stack([benign_row, high, lonely, swapped])
    low, top = predictor.training_min, predictor.training_max
    # WHEN warnings are computed for the batch
    clean, too_big, zero, se = soft_warnings(rows, low, top)
    # THEN each row gets exactly its own, in plain words
    assert clean == []
    assert too_big == [f"area_worst=99999 is above the training maximum {top[INDEX['area_worst']]:g}"]
    assert len(zero) == 1 and zero[0].startswith("concavity_se and concave_points_se are zero together")
    assert any(w.startswith("radius_se (") and "exceeds radius_mean" in w for w in se)
    assert soft_warnings(rows[1:2], low, top) == [too_big]


def test_violations_point_at_row_and_field(benign_row: np.ndarray) -> None:
    rows = np.stack([benign_row, benign_row.copy(), benign_row.copy()])
    rows[1, INDEX["texture_mean"]] = -2.0
    rows[2, INDEX["area_worst"]] = 1.0
    found = violations(rows, "instances.{i}.")
    assert [(v.field, v.rule) for v in found] == [
        ("instances.1.texture_mean", "non_negative"),
        ("instances.2.area_worst", "worst_at_least_mean"),
    ]
    assert violations(benign_row) == []
    assert [v.rule for v in violations(np.where(np.arange(30) == 3, np.nan, benign_row))] == ["finite"]


def test_the_rules_are_declared_once_and_every_surface_reads_them(lambda_module: Any) -> None:
    # The hard pair rules are what the OpenAPI document lists and the page checks
    pairs = [(c.rule, c.field, c.at_least) for c in CROSS_FIELD_RULES]
    assert pairs == [(r.name, *p) for r in HARD_RULES if r.relation == "at_least" for p in r.pairs]
    assert set(WORST_AT_LEAST_MEAN.pairs) <= {(c.field, c.at_least) for c in CROSS_FIELD_RULES}
    page = lambda_module.app.state.app_state.page()
    served = json.loads(page._schema)["rules"]
    assert [r["name"] for r in served] == [r.name for r in HARD_RULES]
    assert {r.name for r in RULES} == {r.name for r in HARD_RULES} | {r.name for r in SOFT_RULES}


def test_rows_that_bound_the_answer_size_break_no_hard_rule_or_init_says_which(
    predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows raise every soft warning, and pass every hard rule
    rows = limits._worst_rows(predictor)
    assert violations(rows) == []
    assert all(len(w) >= 2 for w in predictor.predict(rows).warnings)
    # GIVEN a hard rule those rows would break (as a new one might) THEN a configuration error names it
    broken = Violation("radius_mean", "a_new_rule", 1.0, "radius_mean breaks a new rule")
    monkeypatch.setattr(limits, "violations", lambda rows: [broken])
    with pytest.raises(SettingsError, match="break hard rule 'a_new_rule'"):
        limits._worst_rows(predictor)
