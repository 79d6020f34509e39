"""Helpers that several test modules share; fixtures live in conftest.py."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.schema import FEATURES
from training import data


@dataclass
class Answer:
    """A Lambda proxy response, decoded: status, lower-case headers, and the body as JSON where it is JSON."""

    status: int
    headers: dict[str, str]
    body: Any


def write_csv(
    path: Path, dataset: data.Dataset, style: str = "kaggle", rows: slice = slice(None), trailing_comma: bool = True
) -> Path:
    """The embedded rows as the Kaggle/UCI file (id, diagnosis, 'concave points_mean', trailing comma),
    scikit-learn's names ('mean radius', 'target' as names) or canonical names."""
    names = {
        "kaggle": [f.aliases[1] for f in FEATURES],
        "sklearn": [f.aliases[0] for f in FEATURES],
        "canonical": [f.name for f in FEATURES],
    }[style]
    label_header, labels = ("diagnosis", ("B", "M")) if style == "kaggle" else ("target", ("benign", "malignant"))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", label_header, *names, *([""] if trailing_comma else [])])
        for i in range(len(dataset.y))[rows]:
            cells = [str(842000 + i), labels[dataset.y[i]], *(repr(float(v)) for v in dataset.x[i])]
            writer.writerow(cells + ([""] if trailing_comma else []))
    return path


def edit_csv(path: Path, line: int, column: str, value: str) -> Path:
    """Set one cell (1-based line, column by header name) of a CSV file in place."""
    rows = list(csv.reader(path.open()))
    rows[line - 1][rows[0].index(column)] = value
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def body_with_literal(features: dict[str, Any], name: str, literal: str) -> bytes:
    """A /predict body whose `name` holds a literal no JSON encoder writes (NaN, Infinity, 1e999, 5000 digits)."""
    marker = "__LITERAL__"
    return json.dumps({"features": {**features, name: marker}}).replace(f'"{marker}"', literal).encode()
