"""Reading training CSVs in every accepted naming style, and every bad-CSV case with its message."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cohort.csvio import parse_csv
from model.errors import CsvError
from model.schema import FEATURES
from tests.support import edit_csv, write_csv
from training import cli, data


@pytest.mark.parametrize("style", ["kaggle", "sklearn", "canonical"])
def test_every_naming_style_reads_the_same_data(tmp_path: Path, dataset: data.Dataset, style: str) -> None:
    # GIVEN the embedded data written in one naming style
    path = write_csv(tmp_path / "wdbc.csv", dataset, style, trailing_comma=style == "kaggle")
    # WHEN it is read as training data
    loaded = data.from_csv(path)
    # THEN features and labels are exactly the embedded ones, malignant = 1
    np.testing.assert_array_equal(loaded.x, dataset.x)
    np.testing.assert_array_equal(loaded.y, dataset.y)
    assert loaded.fingerprint == dataset.fingerprint


def test_embedded_labels_come_from_names(dataset: data.Dataset) -> None:
    # scikit-learn codes malignant as 0; the embedded copy has 212 malignant rows.
    assert int(dataset.y.sum()) == 212 and len(dataset.y) == 569


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


BAD_CELLS = [
    (
        "non_numeric",
        5,
        "radius_mean",
        "abc",
        "line 5, column 'radius_mean': non-numeric value 'abc'; expected a number",
    ),
    ("empty", 7, "texture_se", "", "line 7, column 'texture_se': empty cell; expected a number"),
    ("nan", 3, "area_worst", "nan", "line 3, column 'area_worst': 'nan' is not a finite number"),
    ("inf", 3, "area_worst", "inf", "line 3, column 'area_worst': 'inf' is not a finite number"),
    ("negative", 4, "smoothness_mean", "-0.1", "line 4: smoothness_mean must be >= 0"),
    ("unknown_label", 6, "diagnosis", "X", "line 6, column 'diagnosis': unknown label 'X'; expected M/B"),
    ("integer_label", 6, "diagnosis", "0", "bare integers are ambiguous: scikit-learn codes malignant as 0"),
    ("duplicated_id", 9, "id", "842000", "line 9, column 'id': id '842000' repeats line 2"),
    ("worst_below_mean", 8, "radius_worst", "1.0", "line 8: radius_worst (1.0) must be >= radius_mean"),
]


@pytest.mark.parametrize(("case", "line", "column", "value", "message"), BAD_CELLS, ids=[c[0] for c in BAD_CELLS])
def test_bad_cell_is_named_by_line_and_column_and_nothing_is_written(
    tmp_path: Path, dataset: data.Dataset, case: str, line: int, column: str, value: str, message: str
) -> None:
    # GIVEN a Kaggle-style file with one bad cell
    path = edit_csv(write_csv(tmp_path / "bad.csv", dataset, rows=slice(0, 60)), line, column, value)
    out = tmp_path / "out"
    # WHEN training runs on it THEN it fails with the line and column, and writes nothing
    with pytest.raises(CsvError, match="nothing was written") as err:
        data.from_csv(path)
    assert message in str(err.value)
    assert cli.main(["--data", str(path), "--out", str(out), "--profile", "quick"]) == 2
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


STRUCTURE = [
    ("empty_file", "", "the file is empty"),
    ("not_csv", '{"radius_mean": 1}\n', "line 1 has 1 comma-separated column(s), expected at least 30"),
    ("header_only", None, "a header but no data rows"),
]


@pytest.mark.parametrize(("case", "text", "message"), STRUCTURE, ids=[c[0] for c in STRUCTURE])
def test_structural_problems(tmp_path: Path, dataset: data.Dataset, case: str, text: str | None, message: str) -> None:
    path = tmp_path / "f.csv"
    if text is None:
        text = _lines(write_csv(tmp_path / "full.csv", dataset))[0] + "\n"
    path.write_text(text)
    with pytest.raises(CsvError, match=re.escape(message)):
        data.from_csv(path)


def test_binary_file_is_not_csv(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"PK\x03\x04\x00\xff\xfe" * 20)
    with pytest.raises(CsvError, match=r"not a UTF-8 text file, so not CSV|binary data"):
        data.from_csv(path)


def test_missing_and_unknown_columns(tmp_path: Path, dataset: data.Dataset) -> None:
    lines = _lines(write_csv(tmp_path / "full.csv", dataset, rows=slice(0, 30)))
    header = lines[0].replace("area_se", "area_sd")
    path = tmp_path / "f.csv"
    path.write_text("\n".join([header, *lines[1:]]) + "\n")
    with pytest.raises(CsvError) as err:
        data.from_csv(path)
    assert "missing: ['area_se']" in str(err.value)
    assert "unknown columns: ['area_sd']" in str(err.value)


def test_missing_label_column(tmp_path: Path, dataset: data.Dataset) -> None:
    lines = _lines(write_csv(tmp_path / "full.csv", dataset, rows=slice(0, 30)))
    path = tmp_path / "f.csv"
    path.write_text("\n".join(line.split(",", 2)[0] + "," + line.split(",", 2)[2] for line in lines) + "\n")
    with pytest.raises(CsvError, match="no label column; add 'diagnosis'"):
        data.from_csv(path)


def test_too_few_rows_of_a_class(tmp_path: Path, dataset: data.Dataset) -> None:
    # The first 25 embedded rows hold 9 or fewer benign ones.
    path = write_csv(tmp_path / "f.csv", dataset, rows=slice(0, 25))
    benign = int((dataset.y[:25] == 0).sum())
    assert benign < data.MIN_ROWS_PER_CLASS
    with pytest.raises(CsvError, match=f"{benign} benign row\\(s\\); nested cross-validation needs at least 10"):
        data.from_csv(path)


def test_short_row_is_named(tmp_path: Path) -> None:
    header = ",".join(f.name for f in FEATURES)
    table = parse_csv(header + "\n" + ",".join(["1"] * 29) + "\n", "x.csv")
    assert table.row_errors == [(2, "line 2: 29 cells, the header has 30 columns")]


def test_out_that_is_not_an_artifact_is_refused(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert cli.main(["--profile", "quick", "--out", str(tmp_path)]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"
