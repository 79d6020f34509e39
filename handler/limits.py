"""The bounds on what the function sends back, whatever it was sent.

An error answer is at most MAX_ERROR_BYTES; a successful one at most MAX_ANSWER_BYTES, under Lambda's
6 MB limit for a synchronous response. Both follow from these limits, never from the request.
"""

import json
import math
from functools import cache
from typing import Any

import numpy as np

from handler.answers import batch_answer
from handler.settings import SettingsError
from model.predictor import Predictor
from model.rules import AT_LEAST_COLUMNS, SOFT_RULES, violations
from model.schema import (
    COUNTERFACTUAL_FEATURES_DEFAULT,
    COUNTERFACTUAL_FEATURES_MAX,
    FEATURE_NAMES,
    INDEX,
    SIMILAR_CASES_MAX,
)

MAX_ERROR_BYTES = 16 * 1024
MAX_ANSWER_BYTES = 5 * 1024 * 1024  # Lambda refuses synchronous answers over 6 MB (6,291,456 bytes)
MAX_VIOLATIONS = 20  # listed in an error answer; the rest are counted in "truncated"
MAX_BAD_RECORDS = 5  # a batch stops being checked after this many bad records
# The most records any batch may hold, whatever MAX_BATCH_SIZE says; init refuses a setting above what the
# loaded model's largest answer allows, which is below this.
LARGEST_BATCH = 5000
# Records of one batch that may ask for counterfactuals or similar cases: each search takes up to about
# 20 ms, so a full batch stays near a second; the answer-size bound may allow fewer.
MAX_CASE_RECORDS = 50
MAX_ECHO_CHARS = 80  # of any value, key or parser reason repeated back
MAX_FIELD_CHARS = 120
MAX_MESSAGE_CHARS = 300
MAX_DETAIL_CHARS = 1200
# The longest repr a float can have: 17 significant digits, a sign and a three-digit exponent.
LONGEST_FLOAT = -1.2345678901234567e-300


def _longest_floats(value: Any) -> Any:
    """`value` with every float replaced by the longest float repr, so that its size is an upper bound."""
    if isinstance(value, float):
        return LONGEST_FLOAT
    if isinstance(value, dict):
        return {k: _longest_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_longest_floats(v) for v in value]
    return value


def _worst_rows(predictor: Predictor) -> np.ndarray:
    """Rows that raise every soft rule's warning at once, their values at the longest `:g` rendering, built from
    the rules' declarations (model.rules); SettingsError, naming the rule, if a hard rule refuses them."""
    row = np.full(len(INDEX), 1.23457e100)  # above every training maximum
    for rule in SOFT_RULES:
        if rule.relation == "at_most":  # each field just above its other
            row[[INDEX[f] for f, _ in rule.pairs]] = row[[INDEX[o] for _, o in rule.pairs]] * 1.00001
    zeros = row.copy()  # one of each zero_together pair zero: more warnings there, fewer ranges
    for rule in SOFT_RULES:
        if rule.relation == "zero_together":
            zeros[[INDEX[f] for f, _ in rule.pairs]] = 0.0
    low = np.maximum(predictor.training_min * 0.12345, 1.23457e-300)  # below every training minimum
    rows = np.stack([row, zeros, low])
    for lower, higher in AT_LEAST_COLUMNS:  # then every hard pair rule kept, whichever rules there are
        rows[:, higher] = np.maximum(rows[:, higher], rows[:, lower])
    broken = violations(rows)
    if broken:
        raise SettingsError(
            f"the rows that bound an answer's size break hard rule {broken[0].rule!r} ({broken[0].message}); "
            "a rule added to model.rules must let them pass, or handler.limits must build them otherwise"
        )
    return rows


def _json_bytes(value: Any) -> int:
    return len(json.dumps(_longest_floats(value), ensure_ascii=False, separators=(",", ":")).encode())


@cache
def largest_cases_bytes() -> int:
    """Bytes the largest counterfactual and similar cases add to a record's answer (they replace two nulls)."""
    from model.counterfactual import Change, Counterfactual  # the search and the case index: on first use
    from model.similar import SimilarCase, SimilarCases

    most = COUNTERFACTUAL_FEATURES_MAX
    changes = tuple(Change(name, LONGEST_FLOAT, LONGEST_FLOAT) for name in sorted(FEATURE_NAMES, key=len)[-most:])
    counterfactual = Counterfactual(True, changes, "malignant", LONGEST_FLOAT, LONGEST_FLOAT, most)
    case = SimilarCase("malignant", LONGEST_FLOAT, (LONGEST_FLOAT,) * len(FEATURE_NAMES))
    cases = SimilarCases((case,) * SIMILAR_CASES_MAX, SIMILAR_CASES_MAX, True)
    return _json_bytes(counterfactual.as_dict("benign")) + _json_bytes(cases.as_dict()) - 2 * len("null")


def largest_record_answer(predictor: Predictor, with_cases: bool = False) -> int:
    """Bytes one record can add to a batch answer at most: explained, every warning, every float at its longest,
    and, `with_cases`, the largest counterfactual and similar cases."""
    return _largest_plain_answer(predictor) + (largest_cases_bytes() if with_cases else 0)


@cache  # init asks more than once (the batch limit, the case limit): computed once per model
def _largest_plain_answer(predictor: Predictor) -> int:
    longest_point = max(predictor.operating_points, key=len)
    sizes = []
    for p in predictor.predict(_worst_rows(predictor), operating_point=longest_point, explain=True):
        answer = {**p.as_dict(), "label": "malignant", "prediction_set": ["benign", "malignant"]}
        sizes.append(_json_bytes(answer))
    return max(sizes) + 1  # the comma between records


def envelope_bytes(version: str) -> int:
    """Bytes of a batch answer around its records."""
    empty = {**batch_answer([], version), "count": 10**9}
    return len(json.dumps(empty, separators=(",", ":")).encode())


def largest_batch(predictor: Predictor, with_cases: bool = False) -> int:
    """The most records a batch may hold for its answer to stay within MAX_ANSWER_BYTES."""
    room = MAX_ANSWER_BYTES - envelope_bytes(predictor.version)
    return math.floor(room / largest_record_answer(predictor, with_cases))


def feature_subsets(features: int) -> int:
    """How many feature subsets a counterfactual of at most `features` features searches."""
    return sum(math.comb(len(FEATURE_NAMES), size) for size in range(1, features + 1))


def counterfactual_batch(size_limit: int, features: int) -> int:
    """The most records of a batch asking for counterfactuals of at most `features` features: the search's
    cost follows the number of subsets (4,525 for 3, 31,930 for 4, 174,436 for 5), so a batch of them costs
    about what MAX_CASE_RECORDS records of 3 features cost."""
    budget = MAX_CASE_RECORDS * feature_subsets(COUNTERFACTUAL_FEATURES_DEFAULT)
    return min(size_limit, max(1, budget // feature_subsets(features)))


def largest_case_batch(predictor: Predictor) -> int:
    """The most records of a batch that asks for counterfactuals or similar cases."""
    return min(MAX_CASE_RECORDS, largest_batch(predictor, with_cases=True))
