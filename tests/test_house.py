"""House rules that no linter checks: short functions, and the benchmark tables as the last run wrote them."""

from __future__ import annotations

import ast
import json

import pytest

from benchmarks import tables
from infra.paths import ROOT

SHIPPED = ("model", "handler", "cohort", "training", "infra", "local", "benchmarks")
LONGEST_FUNCTION = 60


def test_no_function_over_sixty_lines() -> None:
    long = []
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > LONGEST_FUNCTION:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


@pytest.mark.parametrize("name", sorted(tables.DOCUMENTS))
def test_benchmark_tables_are_the_last_runs(name: str) -> None:
    # GIVEN the results the last `make bench` kept
    results = json.loads(tables.LATEST.read_text())
    # THEN the document's table is exactly what those results render to: no figure copied by hand
    for path in tables.DOCUMENTS[name]:
        assert tables.section(path.read_text(), name) == tables.RENDER[name](results), path
