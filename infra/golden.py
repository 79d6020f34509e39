"""The release check: a model must reproduce its golden examples, and its explanations must add up.

One check for every place that asks: packaging (the predictor in process), CodeDeploy's pre-traffic
hook (the new function version, invoked) and the smoke check (the deployed API over HTTPS). Each
supplies how to ask for one answer; the comparison and its tolerance live here alone. Standard
library only: the hook is deployed without numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from model.manifest import Release

# Calibrated probabilities within this of the stored ones (the same machine and BLAS kernel give 0;
# another kernel moves them by about 1.5e-9 at most, which the artifact's own guarantee of 1e-8 covers).
TOLERANCE = 1e-9

# (features, operating point) -> (HTTP status, the POST /predict answer with its explanation)
Ask = Callable[[Mapping[str, float], str], tuple[int, Mapping[str, Any]]]


def adds_up(answer: Mapping[str, Any]) -> bool:
    """Whether an explained answer's base value and contributions sum to its log-odds."""
    explanation = answer.get("explanation") or {}
    if not explanation:
        return False
    total = float(explanation["base_value"]) + sum(float(c) for c in explanation["contributions"].values())
    log_odds = float(answer["log_odds"])
    return abs(total - log_odds) <= TOLERANCE * max(1.0, abs(log_odds))


def check(release: Release, ask: Ask) -> list[str]:
    """What the model behind `ask` gets wrong about the golden examples (empty: nothing)."""
    if not release.golden:
        return ["the manifest holds no golden examples"]
    problems = []
    for golden in release.golden:
        name = golden.example
        status, got = ask(release.examples[name].features, golden.operating_point)
        if status != 200:
            problems.append(f"{name}: status {status}, body {str(got)[:200]}")
            continue
        if got.get("model_version") != release.model_version:
            problems.append(f"{name}: model version {got.get('model_version')}, expected {release.model_version}")
        if got.get("label") != golden.label:
            problems.append(f"{name}: label {got.get('label')}, expected {golden.label}")
        gap = abs(float(got.get("probability_malignant", "nan")) - golden.probability_malignant)
        if not gap <= TOLERANCE:
            problems.append(f"{name}: probability differs from the stored one by {gap:.3g}")
        if not adds_up(got):
            problems.append(f"{name}: the explanation does not add up to the log-odds")
    return problems
