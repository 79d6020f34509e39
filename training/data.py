"""Training data: scikit-learn's embedded WDBC copy by default, or a CSV in any accepted naming style."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cohort.csvio import MAX_SHOWN, read_csv
from cohort.evaluate import fingerprint
from model.arrays import FloatArray, IntArray
from model.errors import CsvError
from model.manifest import DataSpec
from model.schema import FEATURE_NAMES, canonical_name

MIN_ROWS_PER_CLASS = 10


@dataclass(frozen=True)
class Dataset:
    x: FloatArray
    y: IntArray  # 1 = malignant, 0 = benign
    ids: list[str]
    source: str

    @property
    def fingerprint(self) -> str:
        """sha256 of the feature matrix (C order, float64) followed by the labels (int64)."""
        return fingerprint(self.x, self.y)

    def spec(self) -> DataSpec:
        """What the manifest records of the data."""
        n_malignant = int(self.y.sum())
        return DataSpec(self.source, len(self.y), n_malignant, len(self.y) - n_malignant, self.fingerprint)


def embedded() -> Dataset:
    """The WDBC copy that ships inside scikit-learn; labels taken from its target names."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    columns = [canonical_name(str(n)) for n in bunch.feature_names]
    order = [columns.index(name) for name in FEATURE_NAMES]
    names = [str(bunch.target_names[t]) for t in bunch.target]
    y = np.array([{"malignant": 1, "benign": 0}[n] for n in names], dtype=np.int64)
    return Dataset(
        x=np.asarray(bunch.data, dtype=np.float64)[:, order],
        y=y,
        ids=[str(i + 1) for i in range(len(y))],
        source="scikit-learn embedded WDBC (UCI Breast Cancer Wisconsin (Diagnostic), 569 rows)",
    )


def from_csv(path: Path) -> Dataset:
    """Read a labelled CSV strictly: any bad row is an error naming its line and column."""
    table = read_csv(path, require_labels=True)
    if table.row_errors:
        shown = "\n  ".join(message for _, message in table.row_errors[:MAX_SHOWN])
        more = len(table.row_errors) - MAX_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise CsvError(f"{path}: {len(table.row_errors)} bad row(s), nothing was written:\n  {shown}{tail}")
    assert table.y is not None  # require_labels guarantees a label column
    for label, name in ((1, "malignant"), (0, "benign")):
        count = int(np.sum(table.y == label))
        if count < MIN_ROWS_PER_CLASS:
            raise CsvError(
                f"{path}: {count} {name} row(s); nested cross-validation needs at least "
                f"{MIN_ROWS_PER_CLASS} of each class"
            )
    return Dataset(x=table.x, y=table.y, ids=table.ids, source=f"CSV file {path.name}")


def load(path: Path | None) -> Dataset:
    return embedded() if path is None else from_csv(path)
