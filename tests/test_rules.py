"""Input rules of the core: hard rules as violations, soft rules as warnings."""

from __future__ import annotations

import numpy as np

from model.predictor import Predictor
from model.rules import soft_warnings, violations
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
