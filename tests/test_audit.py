"""The subgroup audit: each group's figures against Fairlearn's MetricFrame and a direct Newton fit, the
stratified bootstrap, the rules for small groups, the flags on a shifted scanner and on random subsets,
and the command's JSON, CSV and HTML."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
from sklearn.metrics import accuracy_score, brier_score_loss, precision_score, recall_score, roc_auc_score

from cohort import audit
from cohort import evaluate as evaluation
from infra.paths import ROOT
from model.errors import CsvError
from model.predictor import Predictor
from model.schema import FEATURES
from tests.support import write_csv
from training import data

SCANNER = [f.position for f in FEATURES if f.measurement in ("texture", "smoothness")]


def _rows(result: dict[str, Any], column: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["group"], r["figure"]): r for r in result["table"] if r["column"] == column}


def _sites(n: int, seed: int, names: tuple[str, ...] = ("a", "b", "c")) -> list[str]:
    return [str(v) for v in np.random.default_rng(seed).choice(names, n)]


def _npv(y: np.ndarray, said: np.ndarray) -> float:
    return float(precision_score(1 - y, 1 - said))


def _specificity(y: np.ndarray, said: np.ndarray) -> float:
    return float(recall_score(y, said, pos_label=0))


THRESHOLD_FIGURES = {
    "sensitivity": recall_score,
    "specificity": _specificity,
    "ppv": precision_score,
    "npv": _npv,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "positive_rate": selection_rate,
    "accuracy": accuracy_score,
}


def test_each_groups_figures_equal_fairlearns_metricframe(predictor: Predictor, dataset: data.Dataset) -> None:
    # GIVEN the embedded rows in three groups, and in two
    x, y = dataset.x, dataset.y
    predictions = predictor.predict(x)
    said, p = predictions.malignant.astype(int), predictions.probability
    for names in (("a", "b", "c"), ("a", "b")):
        sites = _sites(len(y), 0, names)
        result = audit.audit(predictor, x, y, audit.Asked({"site": sites}, {"site": "a"}, resamples=50))
        rows = _rows(result, "site")
        threshold = MetricFrame(metrics=THRESHOLD_FIGURES, y_true=y, y_pred=said, sensitive_features=sites)
        scores = MetricFrame(
            metrics={"auc": roc_auc_score, "brier": brier_score_loss}, y_true=y, y_pred=p, sensitive_features=sites
        )
        # THEN every group's threshold figures, AUC and Brier score are Fairlearn's
        for frame in (threshold, scores):
            for group, figures in frame.by_group.iterrows():
                for figure, value in figures.items():
                    assert rows[(str(group), str(figure))]["estimate"] == pytest.approx(value, abs=1e-12)
        if len(names) == 2:
            # AND with two groups, the difference and the ratio to the reference are Fairlearn's between the groups
            for frame in (threshold, scores):
                differences, ratios = frame.difference(), frame.ratio()
                for figure in differences.index:
                    row = rows[("b", str(figure))]
                    assert abs(row["difference"]) == pytest.approx(differences[figure], abs=1e-12)
                    if row["ratio"] is not None:
                        assert min(row["ratio"], 1 / row["ratio"]) == pytest.approx(ratios[figure], abs=1e-12)


def test_calibration_by_group_equals_a_direct_newton_fit(predictor: Predictor, dataset: data.Dataset) -> None:
    # GIVEN a group large enough for a calibration slope (100 events and 100 non-events)
    x, y = dataset.x, dataset.y
    big = np.random.default_rng(1).random(len(y)) < 0.85
    groups = ["big" if b else "small" for b in big]
    result = audit.audit(predictor, x, y, audit.Asked({"part": groups}, resamples=50))
    rows = _rows(result, "part")
    # THEN its intercept and slope are those of the report's own Newton fit on the group's rows
    direct = evaluation.calibration(y[big], predictor.log_odds(x[big]))
    assert rows[("big", "calibration_intercept")]["estimate"] == pytest.approx(
        direct["calibration_intercept"], abs=1e-7
    )
    assert rows[("big", "calibration_slope")]["estimate"] == pytest.approx(direct["calibration_slope"], abs=1e-7)
    # AND observed over expected is the sum of labels over the sum of probabilities
    p = predictor.probability(x[big])
    assert rows[("big", "observed_expected")]["estimate"] == pytest.approx(y[big].sum() / p.sum(), abs=1e-12)
    # AND the smaller group, under 100 events, shows no slope, and says why
    small = rows[("small", "calibration_slope")]
    assert small["estimate"] is None and "under 100" in small["note"]


def test_the_bootstrap_is_stratified_within_each_group() -> None:
    # GIVEN a group of 12 rows with 3 events among other rows
    y = np.array([1, 1, 1] + [0] * 9 + [1, 0] * 20)
    rows = np.arange(12)
    # THEN every resample holds its 3 events and 9 non-events, drawn from the group only
    index = audit._resamples(rows, y, 2000, np.random.default_rng(0))
    assert index.shape == (2000, 12)
    assert set(np.unique(index)) <= set(rows.tolist())
    assert (y[index].sum(axis=1) == 3).all()


def test_small_groups_show_counts_only_and_missing_cells_are_a_group(
    predictor: Predictor, dataset: data.Dataset
) -> None:
    # GIVEN a group with 3 events, and rows whose group cell is empty
    x, y = dataset.x, dataset.y
    malignant = np.flatnonzero(y == 1)
    groups = ["main"] * len(y)
    for i in [*malignant[:3], *np.flatnonzero(y == 0)[:9]]:
        groups[i] = "tiny"
    for i in malignant[3:8]:
        groups[i] = ""
    result = audit.audit(predictor, x, y, audit.Asked({"site": groups}, resamples=50))
    summary = {g["group"]: g for g in result["groups"] if g["column"] == "site"}
    # THEN the small group is listed with its counts, its figures withheld with the reason
    assert summary["tiny"]["n"] == 12 and summary["tiny"]["events"] == 3 and summary["tiny"]["shown"] == "counts only"
    tiny = [r for r in result["table"] if r["group"] == "tiny"]
    assert len(tiny) == len(audit.FIGURES)
    assert all(r["estimate"] is None and r["note"].startswith("withheld: 3 events and 9 non-events") for r in tiny)
    # AND the empty cells form the group "missing", counted
    assert summary[audit.MISSING]["n"] == 5 and summary[audit.MISSING]["events"] == 5
    # AND the rules are stated in the output
    assert any("counts only" in rule for rule in result["rules"])
    assert any("no correction for multiplicity" in rule for rule in result["rules"])


def test_the_strata_cut_at_the_training_quartiles(predictor: Predictor, dataset: data.Dataset) -> None:
    # GIVEN the audit of any cohort
    result = audit.audit(predictor, dataset.x[:100], dataset.y[:100], audit.Asked(resamples=20))
    training = predictor.artifact.arrays["training_x"]
    # THEN the strata's cut points are the training rows' quartiles, whatever the cohort
    for name, cuts in result["strata"]["quartiles"].items():
        column = training[:, [f.name for f in FEATURES].index(name)]
        assert cuts == pytest.approx(np.quantile(column, [0.25, 0.5, 0.75]).tolist())
    strata = {g["column"] for g in result["groups"]}
    assert strata == {"area_worst quartile", "texture_mean quartile"}
    assert sum(g["n"] for g in result["groups"] if g["column"] == "area_worst quartile") == 100


def _scanner_cohort(dataset: data.Dataset, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    sites = rng.choice(["scanner", "b", "c"], len(dataset.y), p=[0.25, 0.35, 0.4])
    x = dataset.x.copy()
    x[np.ix_(sites == "scanner", SCANNER)] *= 1.2
    return x, [str(s) for s in sites]


def test_a_shifted_scanner_is_flagged_and_the_other_groups_are_not(predictor: Predictor, dataset: data.Dataset) -> None:
    for seed in range(5):
        # GIVEN a site whose scanner scales texture and smoothness by 1.2, among two that do not
        x, sites = _scanner_cohort(dataset, seed)
        result = audit.audit(predictor, x, dataset.y, audit.Asked({"site": sites}, resamples=200, seed=seed))
        flagged = {r["group"] for r in result["table"] if r["column"] == "site" and r["flag"]}
        # THEN that site is flagged (its calibration), and no other is
        assert flagged == {"scanner"}, (seed, flagged)
        reasons = [r for r in result["table"] if r["group"] == "scanner" and r["flag"]]
        assert "calibration_intercept" in {r["figure"] for r in reasons}


# slow: 100 audits of 200 resamples each (about 30 s)
@pytest.mark.slow
def test_a_random_subset_is_rarely_flagged(predictor: Predictor, dataset: data.Dataset) -> None:
    flagged = 0
    for seed in range(100):
        # GIVEN a group that is a random subset of the rows
        rng = np.random.default_rng(seed)
        groups = ["subset" if r < 0.3 else "rest" for r in rng.random(len(dataset.y))]
        result = audit.audit(predictor, dataset.x, dataset.y, audit.Asked({"part": groups}, resamples=200, seed=seed))
        flagged += any(r["flag"] for r in result["table"] if r["column"] == "part")
    # THEN it is flagged, on any figure, in at most 10 of 100 seeds
    assert flagged <= 10


def test_the_reference_is_asked_or_the_largest_group_with_figures(predictor: Predictor, dataset: data.Dataset) -> None:
    sites = _sites(len(dataset.y), 2)
    largest = max(set(sites), key=sites.count)
    result = audit.audit(predictor, dataset.x, dataset.y, audit.Asked({"site": sites}, resamples=20))
    assert {g["reference"] for g in result["groups"] if g["column"] == "site"} == {largest}
    asked = audit.Asked({"site": sites}, {"site": "c"}, resamples=20)
    result = audit.audit(predictor, dataset.x, dataset.y, asked)
    assert {g["reference"] for g in result["groups"] if g["column"] == "site"} == {"c"}
    # AND the size-stratum of small tumours, with almost no events, is never the reference
    stratum = {g["reference"] for g in result["groups"] if g["column"] == "area_worst quartile"}
    assert all(not name.startswith("Q1") for name in stratum)


def test_intersections_of_two_group_columns_are_audited(predictor: Predictor, dataset: data.Dataset) -> None:
    sites, clinics = _sites(len(dataset.y), 3), _sites(len(dataset.y), 4, ("north", "south"))
    result = audit.audit(predictor, dataset.x, dataset.y, audit.Asked({"site": sites, "clinic": clinics}, resamples=20))
    groups = {g["group"] for g in result["groups"] if g["column"] == "site & clinic"}
    assert groups == {f"{s} & {c}" for s in "abc" for c in ("north", "south")}


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"site": "z"}, "--reference site=z: no such group; the groups of 'site' are ['a', 'b', 'c']"),
        ({"clinic": "a"}, "--reference names ['clinic'], which are not audited columns"),
    ],
)
def test_a_bad_reference_is_refused_by_name(
    predictor: Predictor, dataset: data.Dataset, asked: dict[str, str], message: str
) -> None:
    with pytest.raises(CsvError, match=message.replace("[", r"\[").replace("]", r"\]")):
        audit.audit(predictor, dataset.x, dataset.y, audit.Asked({"site": _sites(len(dataset.y), 0)}, asked, 20))


def test_a_column_of_identifiers_is_not_a_group(predictor: Predictor, dataset: data.Dataset) -> None:
    ids = [str(i) for i in range(len(dataset.y))]
    with pytest.raises(CsvError, match=f"holds {len(ids)} distinct values, at most {audit.MAX_GROUPS}"):
        audit.audit(predictor, dataset.x, dataset.y, audit.Asked({"id_like": ids}, resamples=20))


def _cohort_with_groups(path: Path, dataset: data.Dataset) -> Path:
    """The embedded rows as a canonical CSV with a `site` and a `scanner` column beside the features."""
    text = write_csv(path, dataset, style="canonical").read_text().splitlines()
    rows = list(csv.reader(io.StringIO("\n".join(text))))
    sites, scanners = _sites(len(rows) - 1, 5), _sites(len(rows) - 1, 6, ("old", "new", ""))
    out = [[*rows[0], "site", "scanner"], *([*r, s, c] for r, s, c in zip(rows[1:], sites, scanners, strict=True))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(out)
    path.write_text(buffer.getvalue())
    return path


def _evaluate(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "model", "evaluate", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.integration
def test_the_command_writes_the_long_table_the_report_and_the_page(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset
) -> None:
    cohort = _cohort_with_groups(tmp_path / "cohort.csv", dataset)
    common = [str(cohort), "--model", str(artifact_dir), "--bootstrap", "100", "--group", "site", "--group", "scanner"]
    # WHEN the cohort is judged by site and scanner, as CSV
    done = _evaluate(*common, "--reference", "scanner=old", "--format", "csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout)))
    # THEN the long table has the declared columns, every group and figure, the missing scanner included
    assert tuple(table[0]) == audit.COLUMNS
    columns = {r["column"] for r in table}
    assert columns == {"area_worst quartile", "texture_mean quartile", "site", "scanner", "site & scanner"}
    assert {r["group"] for r in table if r["column"] == "scanner"} == {"old", "new", audit.MISSING}
    assert {r["reference"] for r in table if r["column"] == "scanner"} == {"old"}
    # AND the JSON report carries the audit beside the overall figures
    done = _evaluate(*common, "--output", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["audit"]["resamples"] == 100 and report["audit"]["rules"] and "auc" in report
    # AND the page draws every plot with matplotlib, each with its alternative text, and keeps the disclaimer
    done = _evaluate(*common, "--format", "html", "--output", str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text()
    assert "<svg" not in page and "not a diagnostic tool" in page and report["cohort"]["sha256"] in page
    assert page.count('<img src="data:image/png;base64,') == 2 + len(audit.FIGURES)
    assert page.count(' alt="') == 2 + len(audit.FIGURES) and "Forest plot of auc by group" in page
    assert "Exploratory" in page


@pytest.mark.integration
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--group", "hospital"], "no column 'hospital' for --group; the columns beside the features: ["),
        (["--group", "radius_mean"], "--group 'radius_mean': a feature, id or label column is not a group"),
        ([], "unknown columns: ['site', 'scanner'] (evaluate audits by a column named with --group)"),
        (["--group", "site"], "unknown columns: ['scanner']"),
        (["--group", "site", "--reference", "site"], "expected COLUMN=VALUE, got 'site'"),
    ],
)
def test_the_command_refuses_bad_groups_by_name(
    tmp_path: Path, artifact_dir: Path, dataset: data.Dataset, extra: list[str], message: str
) -> None:
    cohort = _cohort_with_groups(tmp_path / "cohort.csv", dataset)
    done = _evaluate(str(cohort), "--model", str(artifact_dir), "--bootstrap", "20", *extra)
    assert done.returncode == 2 and message in done.stderr, done.stderr
