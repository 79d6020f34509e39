"""`python -m model predict`: scoring a CSV, bad rows reported by line without stopping the good ones."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cohort import cli
from model.predictor import Predictor
from model.schema import FEATURE_NAMES
from tests.support import edit_csv, write_csv
from training import data


def test_scores_good_rows_and_reports_bad_ones(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset, predictor: Predictor, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a Kaggle file of 12 rows, line 4 with a negative value and line 6 with text
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 12))
    edit_csv(path, 4, "radius_mean", "-3")
    edit_csv(path, 6, "texture_mean", "n/a")
    out = tmp_path / "out.csv"
    # WHEN it is scored
    code = cli.main(["predict", str(path), "--model", str(artifact_dir), "--output", str(out)])
    # THEN the 10 good rows are scored in file order, the 2 bad ones named, and the exit code says so
    assert code == 1
    rows = list(csv.DictReader(out.open()))
    assert [r["line"] for r in rows] == [str(i) for i in range(2, 14)]
    assert "radius_mean must be >= 0" in rows[2]["error"] and rows[2]["label"] == ""
    assert "column 'texture_mean': non-numeric value 'n/a'" in rows[4]["error"]
    good = [r for r in rows if not r["error"]]
    expected = predictor.predict(dataset.x[[i for i in range(12) if i not in (2, 4)]])
    assert [r["label"] for r in good] == [p.label for p in expected]
    assert [float(r["probability_malignant"]) for r in good] == [p.probability_malignant for p in expected]
    assert "line 4" in caplog.text


def test_json_with_explanations(tmp_path: Path, artifact_dir: Path, dataset: data.Dataset) -> None:
    path = write_csv(tmp_path / "in.csv", dataset, style="sklearn", rows=slice(0, 3), trailing_comma=False)
    out = tmp_path / "out.json"
    assert (
        cli.main(
            [
                "predict",
                str(path),
                "--model",
                str(artifact_dir),
                "--format",
                "json",
                "--explain",
                "--operating-point",
                "screening",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    document = json.loads(out.read_text())
    assert "not a diagnostic tool" in document["disclaimer"]
    first = document["predictions"][0]
    assert first["operating_point"] == "screening"
    assert len(first["explanation"]["contributions"]) == 30
    assert len(first["explanation"]["top"]) == 5


def test_missing_model_is_a_clear_error(
    tmp_path: Path, dataset: data.Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 3))
    assert cli.main(["predict", str(path), "--model", str(tmp_path / "none")]) == 2
    assert "manifest.json does not exist" in caplog.text


def test_unknown_operating_point(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 3))
    assert cli.main(["predict", str(path), "--model", str(artifact_dir), "--operating-point", "lenient"]) == 2
    assert "unknown operating_point 'lenient'; expected one of ['balanced', 'screening']" in caplog.text


def test_csv_with_explanations_carries_them(tmp_path: Path, artifact_dir: Path, dataset: data.Dataset) -> None:
    # GIVEN three rows scored to CSV with --explain
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 3))
    out = tmp_path / "out.csv"
    assert cli.main(["predict", str(path), "--model", str(artifact_dir), "--explain", "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    # THEN each row has its base value and one contribution per feature, adding up to its log-odds
    assert len(rows) == 3
    for row in rows:
        contributions = [float(row[f"contribution_{name}"]) for name in FEATURE_NAMES]
        total = float(row["base_value"]) + sum(contributions)
        assert abs(total - float(row["log_odds"])) <= 1e-9 * max(1.0, abs(total))


def test_a_file_whose_every_row_is_bad_scores_nothing(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 2))
    edit_csv(path, 2, "radius_mean", "-3")
    edit_csv(path, 3, "radius_mean", "-4")
    assert cli.main(["predict", str(path), "--model", str(artifact_dir), "--output", str(tmp_path / "o.csv")]) == 2
    assert "no row could be scored" in caplog.text


def test_counterfactuals_and_similar_cases(tmp_path: Path, artifact_dir: Path, dataset: data.Dataset) -> None:
    path = write_csv(tmp_path / "in.csv", dataset, rows=slice(0, 4))
    command = ["predict", str(path), "--model", str(artifact_dir), "--counterfactual", "2", "--similar-cases", "3"]
    # JSON: the objects the API gives
    assert cli.main([*command, "--format", "json", "--output", str(tmp_path / "out.json")]) == 0
    rows = json.loads((tmp_path / "out.json").read_text())["predictions"]
    assert all(r["counterfactual"]["max_features"] == 2 and len(r["similar_cases"]["cases"]) == 3 for r in rows)
    assert all(r["similar_cases"]["record_is_training_case"] for r in rows)
    # CSV: the sentence and how many cases agree
    assert cli.main([*command, "--output", str(tmp_path / "out.csv")]) == 0
    table = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert all(r["counterfactual"].startswith(("the model would answer", "no change of at most 2")) for r in table)
    assert all(r["similar_cases_agreeing"].endswith(" of 3") for r in table)
    # Out of range: argparse says which values are allowed
    with pytest.raises(SystemExit):
        cli.main([*command[:4], "--counterfactual", "6"])
