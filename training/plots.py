"""The report's plots: one table of (name, drawing, caption), each drawn from the stored Inputs."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from model.arrays import FloatArray, IntArray
from model.schema import FEATURE_NAMES, FEATURES
from training import metrics
from training.report_inputs import Inputs

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
BENIGN, MALIGNANT, ORANGE, GREY = "#0072B2", "#D55E00", "#E69F00", "#999999"
ALPHA_GRID = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2)
FOLDS = 5


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def plot_comparison(run: Inputs) -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    families = run.metrics.families
    names = list(families)
    titles = [families[n].title for n in names]
    for ax, metric, label in zip(
        axes,
        ("auc", "brier", "sensitivity"),
        ("AUC", "Brier score (lower is better)", "sensitivity at p >= 0.5"),
        strict=True,
    ):
        means = [families[n].summary[metric].mean for n in names]
        stds = [families[n].summary[metric].std for n in names]
        colours = [MALIGNANT if n == run.chosen else (BENIGN if families[n].deployable else GREY) for n in names]
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


def _cv_points(run: Inputs) -> dict[str, tuple[float, float]]:
    points = run.family.policy.operating_points if run.family.policy else {}
    return {name: (1 - op.specificity.mean, op.sensitivity.mean) for name, op in points.items()}


def plot_roc_pr(run: Inputs) -> Figure:
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4.2))
    fpr, tpr, _ = roc_curve(run.y, run.p_outer)
    roc.plot(fpr, tpr, color=BENIGN, label=f"outer folds, AUC {run.family.summary['auc'].mean:.4f}")
    roc.plot([0, 1], [0, 1], color=GREY, linestyle=":")
    for (name, (x, y)), marker in zip(_cv_points(run).items(), ("o", "s"), strict=False):
        roc.plot(x, y, marker=marker, color=MALIGNANT, linestyle="none", label=f"{name} (CV sens {y:.3f})")
    roc.set(xlabel="false positive rate (1 - specificity)", ylabel="true positive rate (sensitivity)", title="ROC")
    roc.legend(loc="lower right", fontsize=8)
    precision, recall, _ = precision_recall_curve(run.y, run.p_outer)
    pr.plot(recall, precision, color=BENIGN)
    pr.axhline(run.y.mean(), color=GREY, linestyle=":", label=f"prevalence {run.y.mean():.3f}")
    for name, threshold in ((n, op.threshold) for n, op in run.manifest.operating_points.items()):
        predicted = run.p_outer >= threshold
        rec = predicted[run.y == 1].mean()
        prec = (run.y[predicted] == 1).mean() if predicted.any() else 1.0
        pr.plot(rec, prec, marker="o", color=MALIGNANT, linestyle="none")
        pr.annotate(name, (rec, prec), textcoords="offset points", xytext=(-60, -12), fontsize=8)
    pr.set(xlabel="recall (sensitivity)", ylabel="precision", title="Precision-recall", ylim=(0.5, 1.02))
    pr.legend(loc="lower left", fontsize=8)
    return fig


def plot_calibration(run: Inputs) -> Figure:
    fig, (curve, hist) = plt.subplots(2, 1, figsize=(5.5, 6), height_ratios=(3, 1), sharex=True)
    bins = metrics.calibration_bins(run.y, run.p_outer)
    xs, ys = [b.mean_probability for b in bins], [b.observed for b in bins]
    curve.plot([0, 1], [0, 1], color=GREY, linestyle=":", label="perfect calibration")
    curve.plot(xs, ys, marker="o", color=BENIGN, label=f"outer folds (ECE {run.family.summary['ece'].mean:.3f})")
    curve.set(ylabel="observed share malignant", title="Calibration of P(malignant)")
    curve.legend(fontsize=8)
    hist.hist(
        [run.p_outer[run.y == 0], run.p_outer[run.y == 1]],
        bins=20,
        range=(0, 1),
        stacked=True,
        color=[BENIGN, MALIGNANT],
        label=["benign", "malignant"],
    )
    hist.set(xlabel="predicted probability of malignancy", ylabel="rows")
    hist.legend(fontsize=8)
    return fig


def plot_confusion(run: Inputs) -> Figure:
    points = run.manifest.operating_points
    fig, axes = plt.subplots(1, len(points), figsize=(4.2 * len(points), 3.8))
    for ax, (name, op) in zip(np.atleast_1d(axes), points.items(), strict=True):
        predicted = (run.p_outer >= op.threshold).astype(int)
        matrix = np.array([[np.sum((run.y == t) & (predicted == p)) for p in (0, 1)] for t in (0, 1)])
        ax.imshow(matrix, cmap="Blues")
        for (t, p), count in np.ndenumerate(matrix):
            ax.text(p, t, str(count), ha="center", va="center", color="black" if count < matrix.max() / 2 else "white")
        ax.set(
            xticks=[0, 1],
            yticks=[0, 1],
            xticklabels=["benign", "malignant"],
            yticklabels=["benign", "malignant"],
            xlabel="predicted",
            ylabel="true",
            title=f"{name}: threshold {op.threshold:.3f}",
        )
    fig.suptitle("Confusion matrices, outer-fold predictions (rows)")
    return fig


def plot_thresholds(run: Inputs) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    grid = np.linspace(0, 1, 201)
    sens, spec = zip(*(metrics.rates(run.y, run.p_outer, float(t)) for t in grid), strict=True)
    ax.plot(grid, sens, color=MALIGNANT, label="sensitivity")
    ax.plot(grid, spec, color=BENIGN, label="specificity")
    for name, op in run.manifest.operating_points.items():
        ax.axvline(op.threshold, color=GREY, linestyle="--")
        ax.annotate(name, (op.threshold, 0.5), rotation=90, textcoords="offset points", xytext=(4, 0), fontsize=8)
    ax.set(xlabel="threshold on P(malignant)", ylabel="rate", ylim=(0.5, 1.01), title="Threshold trade-off")
    ax.legend()
    return fig


def conformal_curve(y: IntArray, p: FloatArray) -> dict[str, list[float]]:
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
                totals[key] += getattr(outcome, key) / FOLDS
        for key, value in totals.items():
            out[key].append(value)
    return out


def plot_conformal(run: Inputs) -> Figure:
    curve = conformal_curve(run.y, run.oof["final_oof_probability"])
    fig, (cov, ind) = plt.subplots(1, 2, figsize=(10, 3.8))
    cov.plot(ALPHA_GRID, curve["coverage_malignant"], marker="o", color=MALIGNANT, label="malignant")
    cov.plot(ALPHA_GRID, curve["coverage_benign"], marker="s", color=BENIGN, label="benign")
    cov.plot(ALPHA_GRID, [1 - a for a in ALPHA_GRID], color=GREY, linestyle=":", label="target 1 - alpha")
    cov.set(xlabel="miscoverage level alpha", ylabel="share of true labels in the set", title="Coverage per class")
    cov.legend(fontsize=8)
    ind.plot(ALPHA_GRID, curve["indeterminate"], marker="o", color=ORANGE)
    ind.set(xlabel="miscoverage level alpha", ylabel="share of results", title="Indeterminate (set not one label)")
    return fig


def plot_importance(run: Inputs) -> Figure:
    top = run.order[:15]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh([FEATURE_NAMES[j] for j in top], run.importance[top], color=BENIGN)
    ax.invert_yaxis()
    ax.set(xlabel="mean |contribution| over the 569 rows (log-odds)", title="Global importance (exact Shapley values)")
    return fig


def plot_beeswarm(run: Inputs) -> Figure:
    top = run.order[:12]
    contributions, x = run.explanations["contributions"], run.explanations["x"]
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


def plot_distributions(run: Inputs) -> Figure:
    top = run.order[:6]
    x = run.explanations["x"]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    for ax, j in zip(axes.ravel(), top, strict=True):
        bins = np.linspace(x[:, j].min(), x[:, j].max(), 30)
        ax.hist(x[run.y == 0, j], bins=bins, alpha=0.6, color=BENIGN, label="benign")
        ax.hist(x[run.y == 1, j], bins=bins, alpha=0.6, color=MALIGNANT, label="malignant")
        unit = FEATURES[j].unit
        ax.set(xlabel=f"{FEATURE_NAMES[j]} ({unit})", ylabel="rows")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Distributions by class of the six most important features")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Plot:
    name: str
    draw: Callable[[Inputs], Figure]
    caption: str


PLOTS: tuple[Plot, ...] = (
    Plot(
        "comparison",
        plot_comparison,
        "Every family under the same repeated nested cross-validation; bars are means, whiskers one SD over outer "
        "folds.",
    ),
    Plot(
        "roc_pr",
        plot_roc_pr,
        "ROC and precision-recall curves of the shipped family's outer-fold predictions, with the operating points "
        "chosen on inner folds.",
    ),
    Plot(
        "calibration",
        plot_calibration,
        "Observed share of malignant rows against predicted probability (ten equal-width bins), over a histogram of "
        "the predictions.",
    ),
    Plot("confusion", plot_confusion, "Counts at each operating point, outer-fold predictions."),
    Plot(
        "thresholds",
        plot_thresholds,
        "Sensitivity and specificity as the threshold moves; dashed lines mark the operating points.",
    ),
    Plot(
        "conformal",
        plot_conformal,
        "Class-conditional split-conformal sets, cross-fitted on out-of-fold probabilities: coverage per class and "
        "the share of indeterminate results against alpha.",
    ),
    Plot(
        "importance",
        plot_importance,
        "Mean absolute Shapley value per feature over all rows, from the exact explainer.",
    ),
    Plot(
        "beeswarm",
        plot_beeswarm,
        "One point per row: its contribution, coloured by the rank of the feature's value.",
    ),
    Plot("distributions", plot_distributions, "Feature values by class for the strongest features."),
)
