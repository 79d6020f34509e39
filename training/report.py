"""The evaluation report (one self-contained HTML file, PNGs beside it) and MODEL_CARD.md.

    python -m training.report ARTIFACT_DIR

Drawn only from what training stored (metrics.json, oof.npz, explanations.npz, manifest.json):
no refitting, a few seconds, and the same artifact always gives the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray
from sklearn.metrics import precision_recall_curve, roc_curve

from model.schema import DISCLAIMER, FEATURE_NAMES
from training import metrics

log = logging.getLogger("training.report")
FloatArray = NDArray[np.float64]
# Okabe-Ito: distinguishable with every common colour-vision deficiency.
BENIGN, MALIGNANT, GREEN, ORANGE, PINK, SKY, GREY = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#999999",
)  # fmt: skip
CLINICAL = ("concave_points", "concavity", "texture_worst")
ALPHA_GRID = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)
FOLDS = 5
PLOTS = (
    "comparison", "roc_pr", "calibration", "confusion", "thresholds", "conformal", "importance", "beeswarm",
    "distributions",
)  # fmt: skip


class Inputs:
    """Everything the report reads, loaded once."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.metrics: dict[str, Any] = json.loads((directory / "metrics.json").read_text())
        self.manifest: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
        with np.load(directory / "oof.npz", allow_pickle=False) as oof:
            self.oof = {k: oof[k] for k in oof.files}
        with np.load(directory / "explanations.npz", allow_pickle=False) as ex:
            self.explanations = {k: ex[k] for k in ex.files}
        self.chosen: str = self.metrics["selection"]["chosen"]
        self.y = self.oof["y"].astype(int)
        self.p_outer = self.oof[f"p_{self.chosen}"][0]  # outer-fold test probabilities, first repeat
        self.family = self.metrics["families"][self.chosen]
        contributions = self.explanations["contributions"]
        self.importance = np.abs(contributions).mean(axis=0)
        self.order = np.argsort(-self.importance, kind="stable")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def plot_comparison(d: Inputs) -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    names = list(d.metrics["families"])
    titles = [d.metrics["families"][n]["title"] for n in names]
    for ax, metric, label in zip(
        axes,
        ("auc", "brier", "sensitivity"),
        ("AUC", "Brier score (lower is better)", "sensitivity at p >= 0.5"),
        strict=True,
    ):
        means = [d.metrics["families"][n]["summary"][metric]["mean"] for n in names]
        stds = [d.metrics["families"][n]["summary"][metric]["std"] for n in names]
        colours = [MALIGNANT if n == d.chosen else (BENIGN if d.metrics["families"][n]["deployable"] else GREY)
                   for n in names]  # fmt: skip
        ax.barh(titles, means, xerr=stds, color=colours, capsize=3)
        ax.set_xlabel(label)
        lo = min(m - s for m, s in zip(means, stds, strict=True))
        hi = max(m + s for m, s in zip(means, stds, strict=True))
        ax.set_xlim(max(0.0, lo - (hi - lo) * 0.3), hi + (hi - lo) * 0.1)
        ax.invert_yaxis()
    axes[1].set_yticklabels([])
    axes[2].set_yticklabels([])
    fig.suptitle(
        "Nested cross-validation, mean and one SD over outer folds: shipped family in vermillion, "
        "other deployable families in blue, reference families in grey"
    )
    return fig


def _cv_points(d: Inputs) -> dict[str, tuple[float, float]]:
    return {
        name: (1 - op["specificity"]["mean"], op["sensitivity"]["mean"])
        for name, op in d.family["operating_points"].items()
    }


def plot_roc_pr(d: Inputs) -> Figure:
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4.2))
    fpr, tpr, _ = roc_curve(d.y, d.p_outer)
    roc.plot(fpr, tpr, color=BENIGN, label=f"outer folds, AUC {d.family['summary']['auc']['mean']:.4f}")
    roc.plot([0, 1], [0, 1], color=GREY, linestyle=":")
    for (name, (x, y)), marker in zip(_cv_points(d).items(), ("o", "s"), strict=False):
        roc.plot(x, y, marker=marker, color=MALIGNANT, linestyle="none", label=f"{name} (CV sens {y:.3f})")
    roc.set(xlabel="false positive rate (1 - specificity)", ylabel="true positive rate (sensitivity)",
            title="ROC")  # fmt: skip
    roc.legend(loc="lower right", fontsize=8)
    precision, recall, _ = precision_recall_curve(d.y, d.p_outer)
    pr.plot(recall, precision, color=BENIGN)
    pr.axhline(d.y.mean(), color=GREY, linestyle=":", label=f"prevalence {d.y.mean():.3f}")
    for name, threshold in ((n, op["threshold"]) for n, op in d.manifest["operating_points"].items()):
        predicted = d.p_outer >= threshold
        rec = predicted[d.y == 1].mean()
        prec = (d.y[predicted] == 1).mean() if predicted.any() else 1.0
        pr.plot(rec, prec, marker="o", color=MALIGNANT, linestyle="none")
        pr.annotate(name, (rec, prec), textcoords="offset points", xytext=(-60, -12), fontsize=8)
    pr.set(xlabel="recall (sensitivity)", ylabel="precision", title="Precision-recall", ylim=(0.5, 1.02))
    pr.legend(loc="lower left", fontsize=8)
    return fig


def plot_calibration(d: Inputs) -> Figure:
    fig, (curve, hist) = plt.subplots(2, 1, figsize=(5.5, 6), height_ratios=(3, 1), sharex=True)
    edges = np.linspace(0, 1, metrics.ECE_BINS + 1)
    which = np.clip(np.digitize(d.p_outer, edges[1:-1]), 0, metrics.ECE_BINS - 1)
    xs, ys = [], []
    for b in range(metrics.ECE_BINS):
        mask = which == b
        if mask.any():
            xs.append(d.p_outer[mask].mean())
            ys.append(d.y[mask].mean())
    curve.plot([0, 1], [0, 1], color=GREY, linestyle=":", label="perfect calibration")
    curve.plot(xs, ys, marker="o", color=BENIGN, label=f"outer folds (ECE {d.family['summary']['ece']['mean']:.3f})")
    curve.set(ylabel="observed share malignant", title="Calibration of P(malignant)")
    curve.legend(fontsize=8)
    hist.hist([d.p_outer[d.y == 0], d.p_outer[d.y == 1]], bins=20, range=(0, 1), stacked=True,
              color=[BENIGN, MALIGNANT], label=["benign", "malignant"])  # fmt: skip
    hist.set(xlabel="predicted probability of malignancy", ylabel="rows")
    hist.legend(fontsize=8)
    return fig


def plot_confusion(d: Inputs) -> Figure:
    points = d.manifest["operating_points"]
    fig, axes = plt.subplots(1, len(points), figsize=(4.2 * len(points), 3.8))
    for ax, (name, op) in zip(np.atleast_1d(axes), points.items(), strict=True):
        predicted = (d.p_outer >= op["threshold"]).astype(int)
        matrix = np.array([[np.sum((d.y == t) & (predicted == p)) for p in (0, 1)] for t in (0, 1)])
        ax.imshow(matrix, cmap="Blues")
        for (t, p), count in np.ndenumerate(matrix):
            ax.text(p, t, str(count), ha="center", va="center", color="black" if count < matrix.max() / 2 else "white")
        ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["benign", "malignant"], yticklabels=["benign", "malignant"],
               xlabel="predicted", ylabel="true", title=f"{name}: threshold {op['threshold']:.3f}")  # fmt: skip
    fig.suptitle("Confusion matrices, outer-fold predictions (rows)")
    return fig


def plot_thresholds(d: Inputs) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    grid = np.linspace(0, 1, 201)
    sens, spec = zip(*(metrics.rates(d.y, d.p_outer, float(t)) for t in grid), strict=True)
    ax.plot(grid, sens, color=MALIGNANT, label="sensitivity")
    ax.plot(grid, spec, color=BENIGN, label="specificity")
    for name, op in d.manifest["operating_points"].items():
        ax.axvline(op["threshold"], color=GREY, linestyle="--")
        ax.annotate(name, (op["threshold"], 0.5), rotation=90, textcoords="offset points", xytext=(4, 0), fontsize=8)
    ax.set(xlabel="threshold on P(malignant)", ylabel="rate", ylim=(0.5, 1.01), title="Threshold trade-off")
    ax.legend()
    return fig


def conformal_curve(y: NDArray[np.int64], p: FloatArray) -> dict[str, list[float]]:
    """Cross-fitted Mondrian conformal outcomes over ALPHA_GRID, from stored out-of-fold probabilities."""
    folds = np.arange(len(y)) % FOLDS
    out: dict[str, list[float]] = {"coverage_malignant": [], "coverage_benign": [], "indeterminate": []}
    for alpha in ALPHA_GRID:
        totals = {k: 0.0 for k in out}
        for k in range(FOLDS):
            fit, held = folds != k, folds == k
            bounds = metrics.conformal_thresholds(y[fit], p[fit], alpha)
            outcome = metrics.conformal_outcome(y[held], p[held], bounds)
            for key in totals:
                totals[key] += outcome[key] / FOLDS
        for key, value in totals.items():
            out[key].append(value)
    return out


def plot_conformal(d: Inputs) -> Figure:
    curve = conformal_curve(d.y, d.oof["final_oof_probability"])
    fig, (cov, ind) = plt.subplots(1, 2, figsize=(10, 3.8))
    cov.plot(ALPHA_GRID, curve["coverage_malignant"], marker="o", color=MALIGNANT, label="malignant")
    cov.plot(ALPHA_GRID, curve["coverage_benign"], marker="s", color=BENIGN, label="benign")
    cov.plot(ALPHA_GRID, [1 - a for a in ALPHA_GRID], color=GREY, linestyle=":", label="target 1 - alpha")
    cov.set(xlabel="miscoverage level alpha", ylabel="share of true labels in the set", title="Coverage per class")
    cov.legend(fontsize=8)
    ind.plot(ALPHA_GRID, curve["indeterminate"], marker="o", color=ORANGE)
    ind.set(xlabel="miscoverage level alpha", ylabel="share of results", title="Indeterminate (set not one label)")
    return fig


def plot_importance(d: Inputs) -> Figure:
    top = d.order[:15]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh([FEATURE_NAMES[j] for j in top], d.importance[top], color=BENIGN)
    ax.invert_yaxis()
    ax.set(xlabel="mean |contribution| over the 569 rows (log-odds)", title="Global importance (exact Shapley values)")
    return fig


def plot_beeswarm(d: Inputs) -> Figure:
    top = d.order[:12]
    contributions, x = d.explanations["contributions"], d.explanations["x"]
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for row, j in enumerate(top):
        values = x[:, j]
        ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable") / max(1, len(values) - 1)
        jitter = rng.uniform(-0.3, 0.3, size=len(values))
        points = ax.scatter(contributions[:, j], row + jitter, c=ranks, cmap="cividis", s=6, vmin=0, vmax=1)
    ax.set_yticks(range(len(top)), [FEATURE_NAMES[j] for j in top])
    ax.invert_yaxis()
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set(xlabel="contribution to log-odds of malignancy (right: towards malignant)", title="Contributions per row")
    fig.colorbar(points, ax=ax, label="feature value (rank, low to high)")
    return fig


def plot_distributions(d: Inputs) -> Figure:
    top = d.order[:6]
    x = d.explanations["x"]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    for ax, j in zip(axes.ravel(), top, strict=True):
        bins = np.linspace(x[:, j].min(), x[:, j].max(), 30)
        ax.hist(x[d.y == 0, j], bins=bins, alpha=0.6, color=BENIGN, label="benign")
        ax.hist(x[d.y == 1, j], bins=bins, alpha=0.6, color=MALIGNANT, label="malignant")
        unit = next(f["unit"] for f in d.manifest["features"] if f["name"] == FEATURE_NAMES[j])
        ax.set(xlabel=f"{FEATURE_NAMES[j]} ({unit})", ylabel="rows")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Distributions by class of the six most important features")
    fig.tight_layout()
    return fig


DRAW: dict[str, Callable[[Inputs], Figure]] = {
    "comparison": plot_comparison, "roc_pr": plot_roc_pr, "calibration": plot_calibration,
    "confusion": plot_confusion, "thresholds": plot_thresholds, "conformal": plot_conformal,
    "importance": plot_importance, "beeswarm": plot_beeswarm, "distributions": plot_distributions,
}  # fmt: skip
CAPTIONS = {
    "comparison": "Every family under the same repeated nested cross-validation; bars are means, whiskers one SD "
    "over outer folds.",
    "roc_pr": "ROC and precision-recall curves of the shipped family's outer-fold predictions, with the operating "
    "points chosen on inner folds.",
    "calibration": "Observed share of malignant rows against predicted probability (ten equal-width bins), over a "
    "histogram of the predictions.",
    "confusion": "Counts at each operating point, outer-fold predictions.",
    "thresholds": "Sensitivity and specificity as the threshold moves; dashed lines mark the operating points.",
    "conformal": "Class-conditional split-conformal sets, cross-fitted on out-of-fold probabilities: coverage per "
    "class and the share of indeterminate results against alpha.",
    "importance": "Mean absolute Shapley value per feature over all rows, from the exact explainer.",
    "beeswarm": "One point per row: its contribution, coloured by the rank of the feature's value.",
    "distributions": "Feature values by class for the strongest features.",
}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def clinical_comparison(d: Inputs) -> str:
    top = [FEATURE_NAMES[j] for j in d.order[:8]]
    found = [name for name in top if any(name.startswith(c) or name == c for c in CLINICAL)]
    shape = [n for n in top if n.split("_")[0] in ("radius", "perimeter", "area")]
    return (
        f"The eight features with the largest mean contribution are {', '.join(top)}. The literature on this data "
        "(Street, Wolberg and Mangasarian 1993 onward) reports concave points, concavity and worst texture as the "
        f"strongest signals; {len(found)} of the eight belong to those ({', '.join(found) or 'none'}). "
        f"{len(shape)} are size measurements ({', '.join(shape) or 'none'}), which correlate strongly with one "
        "another, so their shares of the credit are interchangeable and should not be read one by one. The "
        "contributions explain this model, not the disease: they say what moved this model's output, which "
        "agrees with the clinical account where the two overlap."
    )


def robustness_rows(d: Inputs) -> list[tuple[str, str, str, str]]:
    rows = []
    for case, values in d.family.get("robustness", {}).items():
        rows.append((
            case.replace("_", " "),
            f"{values['accuracy']['mean']:.4f} +/- {values['accuracy']['std']:.4f}",
            f"{values['sensitivity']['mean']:.4f} +/- {values['sensitivity']['std']:.4f}",
            _pct(values["indeterminate"]["mean"]),
        ))  # fmt: skip
    return rows


def render_html(d: Inputs, images: dict[str, bytes]) -> str:
    s = d.family["summary"]
    table = "".join(
        f"<tr><td>{html.escape(f['title'])}{' (shipped)' if n == d.chosen else ''}</td>"
        + "".join(
            f"<td>{f['summary'][m]['mean']:.4f} &plusmn; {f['summary'][m]['std']:.4f}</td>"
            for m in ("accuracy", "auc", "sensitivity", "specificity", "brier", "ece")
        )
        + "</tr>"
        for n, f in d.metrics["families"].items()
    )
    robust = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td><td>{e}</td></tr>" for a, b, c, e in robustness_rows(d))
    figures = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,{base64.b64encode(images[name]).decode()}">'
        f"<figcaption>{html.escape(CAPTIONS[name])}</figcaption></figure>"
        for name in PLOTS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WDBC classifier: evaluation report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}
td:first-child{{text-align:left}}.warn{{background:#fff3cd;border:1px solid #E69F00;padding:1em}}
img{{max-width:100%}}figure{{margin:2em 0}}</style></head><body>
<p class="warn"><strong>{html.escape(DISCLAIMER)}</strong></p>
<h1>Evaluation report, model {html.escape(d.manifest["model_version"])}</h1>
<p>Shipped: {html.escape(d.family["title"])} ({html.escape(d.metrics["selection"]["rule"])}).
Protocol: {html.escape(d.metrics["protocol"])}, seed {d.metrics["seed"]}.
Data: {html.escape(d.metrics["data"]["source"])}.
Nested-CV accuracy {s["accuracy"]["mean"]:.4f} &plusmn; {s["accuracy"]["std"]:.4f}, AUC {s["auc"]["mean"]:.4f},
Brier {s["brier"]["mean"]:.4f}, ECE {s["ece"]["mean"]:.4f}.</p>
<h2>Model comparison</h2><table><tr><th>family</th><th>accuracy</th><th>AUC</th><th>sensitivity</th>
<th>specificity</th><th>Brier</th><th>ECE</th></tr>{table}</table>
{figures}
<h2>Robustness</h2><p>The shipped family's outer-fold models on perturbed copies of their test rows, at the
balanced operating point and alpha 0.05: multiplicative measurement noise (seeded) and the loss of the standard-error
block (replaced by training medians).</p>
<table><tr><th>case</th><th>accuracy</th><th>sensitivity</th><th>indeterminate</th></tr>{robust}</table>
<h2>Importance and clinical knowledge</h2><p>{html.escape(clinical_comparison(d))}</p>
</body></html>
"""


def render_card(d: Inputs) -> str:
    m, s = d.manifest, d.family["summary"]
    ops = "\n".join(
        f"| {name} | {op['threshold']:.4f} | {op['target']} | {op['cv_sensitivity']['mean']:.4f} +/- "
        f"{op['cv_sensitivity']['std']:.4f} | {op['cv_specificity']['mean']:.4f} +/- "
        f"{op['cv_specificity']['std']:.4f} |"
        for name, op in m["operating_points"].items()
    )
    conformal = "\n".join(
        f"| {lv['alpha']} | {lv['cv_coverage_malignant']['mean']:.4f} | {lv['cv_coverage_benign']['mean']:.4f} | "
        f"{_pct(lv['cv_indeterminate']['mean'])} |"
        for lv in m["conformal"]["levels"]
    )
    families = "\n".join(
        f"| {f['title']} | {f['summary']['accuracy']['mean']:.4f} +/- {f['summary']['accuracy']['std']:.4f} | "
        f"{f['summary']['auc']['mean']:.4f} | {f['summary']['brier']['mean']:.4f} |"
        for f in d.metrics["families"].values()
    )
    robust = "\n".join(f"| {a} | {b} | {c} | {e} |" for a, b, c, e in robustness_rows(d))
    ood = m["out_of_distribution"]
    return f"""# Model card: WDBC breast-tumour classifier, model {m["model_version"]}

> **{DISCLAIMER}**

## Model details
- {m["model"]["title"]} ({m["model"]["estimator"]}), hyper-parameters {
        json.dumps(m["model"]["hyperparameters"], sort_keys=True)
    }, calibrated by {m["model"]["calibration"]["method"]} scaling (`CalibratedClassifierCV`, ensemble=False).
- Version {m["model_version"]}: a content hash of the arrays and the manifest. Format version {m["format_version"]}.
- Selected by {d.metrics["selection"]["rule"]}; protocol {d.metrics["protocol"]}, seed {d.metrics["seed"]}.
- Served by numpy alone (scikit-learn {m["libraries"]["scikit-learn"]} trained it); every prediction can carry exact
  Shapley values of the calibrated log-odds.

## Intended use
- Research and teaching: a reproducible, explainable reference model for the WDBC features.
- Out of scope: diagnosis, screening decisions, triage, or any use on a person. It is not a medical device.
  Inputs must be the 30 WDBC nuclear features computed as in the original study; anything else is out of distribution.

## Factors
- The data hold no demographic attributes (age, ethnicity, breast density), so performance across groups is unknown.
- One centre (University of Wisconsin Hospitals), one imaging and feature-extraction protocol, fine-needle aspirates
  digitised in the early 1990s. Other scanners, stains or software will shift the features.

## Metrics
Nested cross-validation, mean +/- SD over {s["accuracy"]["n"]} outer folds: accuracy {s["accuracy"]["mean"]:.4f} +/-
{s["accuracy"]["std"]:.4f}, AUC {s["auc"]["mean"]:.4f} +/- {s["auc"]["std"]:.4f}, sensitivity {
        s["sensitivity"]["mean"]:.4f},
specificity {s["specificity"]["mean"]:.4f}, Brier {s["brier"]["mean"]:.4f}, log loss {s["log_loss"]["mean"]:.4f},
ECE {s["ece"]["mean"]:.4f}.

| operating point | threshold | target | CV sensitivity | CV specificity |
|---|---|---|---|---|
{ops}

| alpha | coverage, malignant | coverage, benign | indeterminate |
|---|---|---|---|
{conformal}

Out-of-distribution check: false flags on genuine held-out rows {_pct(ood["cv_false_flag_rate"]["mean"])}; rows with one
feature times 10 caught {_pct(ood["cv_detection_rate_one_feature_times_10"]["mean"])}, divided by 10
{_pct(ood["cv_detection_rate_one_feature_over_10"]["mean"])}.

## Training data
{m["data"]["source"]}: {m["data"]["n_rows"]} rows, {m["data"]["n_malignant"]} malignant, {m["data"]["n_benign"]} benign;
sha256 of the feature matrix and labels {m["data"]["sha256"]}.

## Evaluation data
The same rows, by repeated stratified nested cross-validation: every figure above comes from rows the model judged
had not been used to fit or tune it. There is no external test set.

## Quantitative analyses
| family | accuracy | AUC | Brier |
|---|---|---|---|
{families}

Robustness of the shipped family (balanced operating point, alpha 0.05):

| case | accuracy | sensitivity | indeterminate |
|---|---|---|---|
{robust}

{clinical_comparison(d)}

The figures are in `report/report.html`.

## Ethical considerations
- A wrong benign answer can delay care; the screening operating point trades specificity for sensitivity >= 0.99,
  and indeterminate results say when the model should not be trusted at all.
- The disclaimer is part of every response. Logs never hold feature values or results.

## Caveats and recommendations
- 569 rows from one centre: figures carry the spread shown, and will not transfer to other protocols unchecked.
- Probabilities are calibrated on this data only. Recalibrate and re-evaluate before any use elsewhere.
- Treat out-of-distribution flags and warnings as reasons to disregard the output.

## Citation of the data
Street W. N., Wolberg W. H., Mangasarian O. L. (1993). Nuclear feature extraction for breast tumor diagnosis.
IS&T/SPIE Biomedical Image Processing and Biomedical Visualization, 1905, 861-870.
Wolberg W., Mangasarian O., Street N., Street W. (1993). Breast Cancer Wisconsin (Diagnostic). UCI Machine Learning
Repository.
"""


def write(directory: Path) -> dict[str, Path]:
    """Draw every plot, write report/*.png, report/report.html and MODEL_CARD.md; return their paths."""
    d = Inputs(directory)
    with plt.rc_context({"font.size": 9, "svg.hashsalt": "wdbc"}):
        images = {name: _png(DRAW[name](d)) for name in PLOTS}
    out = directory / "report"
    out.mkdir(exist_ok=True)
    paths = {}
    for name, data in images.items():
        paths[name] = out / f"{name}.png"
        paths[name].write_bytes(data)
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(d, images))
    paths["card"] = directory / "MODEL_CARD.md"
    paths["card"].write_text(render_card(d))
    return paths


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact", type=Path)
    args = parser.parse_args(argv)
    paths = write(args.artifact)
    log.info("report: %s; model card: %s", paths["html"], paths["card"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
