"""Reading WDBC-style CSV files in any accepted naming style (canonical, Kaggle/UCI, scikit-learn)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.arrays import FloatArray, IntArray
from model.errors import CsvError
from model.rules import violations
from model.schema import FEATURE_NAMES, INDEX, N_FEATURES, canonical_name

ID_COLUMNS = ("id", "sample_id")
LABEL_COLUMNS = ("diagnosis", "label", "target", "class")
LABEL_VALUES = {"m": 1, "malignant": 1, "b": 0, "benign": 0}
MAX_SHOWN = 10


@dataclass
class CsvTable:
    """Rows that passed every rule, and a message for each row that did not."""

    x: FloatArray
    y: IntArray | None
    ids: list[str]
    lines: list[int]  # line number in the file of each good row
    row_errors: list[tuple[int, str]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # each asked group column's cell of each good row


@dataclass(frozen=True)
class _Layout:
    """Where things are in a file's rows, read from its header."""

    header: list[str]
    features: dict[int, str]  # column -> canonical feature name
    id_col: int | None
    label_col: int | None
    blank: list[int]  # unnamed columns, which must stay empty
    groups: dict[str, int]  # group column -> its position


def _group_columns(header: list[str], groups: Sequence[str], path: str) -> dict[str, int]:
    """Where each asked group column is; a group cannot be a feature, the id or the label."""
    names = [raw.strip() for raw in header]
    out: dict[str, int] = {}
    for group in groups:
        if canonical_name(group) is not None or group.lower() in ID_COLUMNS + LABEL_COLUMNS:
            raise CsvError(
                f"--group {group!r}: a feature, id or label column is not a group; the features' own strata are "
                "audited always (training quartiles)"
            )
        if group not in names:
            shown = [n for n in names if canonical_name(n) is None][:MAX_SHOWN]
            raise CsvError(f"{path}: line 1: no column {group!r} for --group; the columns beside the features: {shown}")
        out[group] = names.index(group)
    return out


def _header_map(header: list[str], path: str, groups: Sequence[str] = ()) -> _Layout:
    features: dict[int, str] = {}
    id_col = label_col = None
    blank: list[int] = []
    unknown: list[str] = []
    group_at = _group_columns(header, groups, path)
    for i, raw in enumerate(header):
        name = raw.strip()
        low = name.lower()
        canonical = canonical_name(name)
        if i in group_at.values():
            continue
        if canonical is not None:
            if canonical in features.values():
                raise CsvError(f"{path}: line 1: column {name!r} repeats feature {canonical!r}")
            features[i] = canonical
        elif low in ID_COLUMNS and id_col is None:
            id_col = i
        elif low in LABEL_COLUMNS and label_col is None:
            label_col = i
        elif name == "" or low.startswith("unnamed:"):
            blank.append(i)  # the Kaggle file ends each line with a comma
        else:
            unknown.append(name)
    missing = [n for n in FEATURE_NAMES if n not in features.values()]
    if unknown or missing:
        parts = []
        if missing:
            got = N_FEATURES - len(missing)
            parts.append(f"expected {N_FEATURES} feature columns, got {got}; missing: {missing[:MAX_SHOWN]}")
        if unknown:
            parts.append(f"unknown columns: {unknown[:MAX_SHOWN]} (evaluate audits by a column named with --group)")
        raise CsvError(
            f"{path}: line 1: " + "; ".join(parts) + ". Use canonical names (radius_mean), the "
            "Kaggle/UCI names (concave points_mean) or scikit-learn's (mean radius), plus optional "
            f"{ID_COLUMNS[0]!r} and {LABEL_COLUMNS[0]!r} columns"
        )
    return _Layout(header, features, id_col, label_col, blank, group_at)


def _label(cell: str, line: int, column: str) -> int:
    value = LABEL_VALUES.get(cell.strip().lower())
    if value is None:
        hint = " (bare integers are ambiguous: scikit-learn codes malignant as 0)" if cell.strip().isdigit() else ""
        raise ValueError(
            f"line {line}, column {column!r}: unknown label {cell!r}; expected M/B or malignant/benign{hint}"
        )
    return value


def _parse_row(
    layout: _Layout, cells: list[str], line: int, seen_ids: dict[str, int]
) -> tuple[list[float], int | None, str]:
    """(features in model order, label, id) of one data line; ValueError names the line and column."""
    header = layout.header
    if len(cells) != len(header):
        raise ValueError(f"line {line}: {len(cells)} cells, the header has {len(header)} columns")
    for i in layout.blank:
        if cells[i].strip():
            raise ValueError(f"line {line}, column {i + 1}: a value under an unnamed column: {cells[i]!r}")
    row = [0.0] * N_FEATURES
    for i, name in layout.features.items():
        cell = cells[i].strip()
        try:
            value = float(cell)
        except ValueError:
            what = "empty cell" if not cell else f"non-numeric value {cell!r}"
            raise ValueError(f"line {line}, column {header[i]!r}: {what}; expected a number") from None
        if not math.isfinite(value):
            raise ValueError(f"line {line}, column {header[i]!r}: {cell!r} is not a finite number")
        row[INDEX[name]] = value
    problems = violations(np.array([row]))
    if problems:
        raise ValueError(f"line {line}: " + "; ".join(p.message for p in problems))
    label = _label(cells[layout.label_col], line, header[layout.label_col]) if layout.label_col is not None else None
    if layout.id_col is None:
        return row, label, str(line - 1)
    row_id = cells[layout.id_col].strip()
    if row_id in seen_ids:
        raise ValueError(
            f"line {line}, column {header[layout.id_col]!r}: id {row_id!r} repeats line {seen_ids[row_id]}"
        )
    seen_ids[row_id] = line
    return row, label, row_id


def parse_csv(text: str, path: str = "<input>", require_labels: bool = False, groups: Sequence[str] = ()) -> CsvTable:
    """Parse CSV text. Structural problems raise CsvError; bad rows are listed in row_errors; the columns
    named in `groups` are kept as text."""
    if not text.strip():
        raise CsvError(f"{path}: the file is empty; expected a header line and data rows")
    if "\x00" in text:
        raise CsvError(f"{path}: the file holds binary data, not CSV text")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise CsvError(f"{path}: not a valid CSV file: {err}") from err
    header = rows[0]
    if len(header) < N_FEATURES:
        raise CsvError(
            f"{path}: line 1 has {len(header)} comma-separated column(s), expected at least "
            f"{N_FEATURES} feature columns; is this a CSV file with a header line?"
        )
    layout = _header_map(header, path, groups)
    if require_labels and layout.label_col is None:
        raise CsvError(f"{path}: line 1: no label column; add {LABEL_COLUMNS[0]!r} with M/B or malignant/benign")
    xs: list[list[float]] = []
    ys: list[int] = []
    ids: list[str] = []
    lines: list[int] = []
    cells_of: dict[str, list[str]] = {name: [] for name in layout.groups}
    errors: list[tuple[int, str]] = []
    seen_ids: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        try:
            row, label, row_id = _parse_row(layout, cells, line, seen_ids)
        except ValueError as err:
            errors.append((line, str(err)))
            continue
        xs.append(row)
        if label is not None:
            ys.append(label)
        ids.append(row_id)
        lines.append(line)
        for name, i in layout.groups.items():
            cells_of[name].append(cells[i].strip())
    if not xs and not errors:
        raise CsvError(f"{path}: a header but no data rows")
    return CsvTable(
        x=np.array(xs, dtype=np.float64).reshape(-1, N_FEATURES),
        y=np.array(ys, dtype=np.int64) if layout.label_col is not None else None,
        ids=ids,
        lines=lines,
        row_errors=errors,
        groups=cells_of,
    )


def read_csv(path: str | Path, require_labels: bool = False, groups: Sequence[str] = ()) -> CsvTable:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise CsvError(f"{path}: no such file") from err
    except UnicodeDecodeError as err:
        raise CsvError(f"{path}: not a UTF-8 text file, so not CSV ({err.reason} at byte {err.start})") from err
    return parse_csv(text, str(path), require_labels, groups)
