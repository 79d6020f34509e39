"""The cohort report for people: one self-contained HTML page, its plots drawn with matplotlib."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from cohort import audit

# Okabe-Ito, distinguishable with every common colour-vision deficiency.
BLUE, VERMILLION, ORANGE, GREY = "#0072B2", "#D55E00", "#E69F00", "#777777"


def _image(fig: Figure, alt: str) -> str:
    """The figure as an inline PNG with its alternative text."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def calibration_plot(curve: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4))
    xs = curve["probability"]
    ax.fill_between(xs, curve["band_low"], curve["band_high"], color=BLUE, alpha=0.2, label="95% bootstrap band")
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", label="perfect calibration")
    ax.plot(xs, curve["observed"], color=BLUE, linewidth=2, label="this cohort (kernel-smoothed)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted probability of malignancy", ylabel="observed share malignant")
    ax.legend(loc="upper left", fontsize=8)
    return _image(
        fig,
        "Calibration curve: the observed share malignant against the predicted probability, with a 95% bootstrap "
        "band and the diagonal of perfect calibration.",
    )


def decision_plot(curve: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 4))
    ax.plot(curve["thresholds"], curve["model"], color=BLUE, linewidth=2, label="the model")
    ax.plot(curve["thresholds"], curve["treat_all"], color=VERMILLION, label="treat all")
    ax.plot(curve["thresholds"], curve["treat_none"], color=GREY, linestyle="--", label="treat none")
    low = min(-0.05, *curve["model"])
    ax.set(ylim=(low, max(*curve["model"], *curve["treat_all"], 0.05) + 0.02))
    ax.set(xlabel="threshold probability", ylabel="net benefit")
    ax.legend(loc="upper right", fontsize=8)
    return _image(
        fig,
        "Decision curve: the net benefit of acting on the model's probability at each threshold from 0.01 to 0.5, "
        "beside treating all and treating none.",
    )


def forest_plot(result: dict[str, Any], figure: audit.Figure) -> str:
    """Every group's estimate and interval for one figure; references and flags marked, withheld groups named."""
    rows = [r for r in result["table"] if r["figure"] == figure.name]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.1))
    labels = []
    for i, r in enumerate(rows):
        labels.append(f"{r['column']}: {r['group']} (n={r['n']})")
        if r["estimate"] is None:
            ax.annotate("withheld (small group)", (0, i), xycoords=("axes fraction", "data"), fontsize=7, color=GREY)
            continue
        reference = r["group"] == r["reference"]
        colour = VERMILLION if r["flag"] else (ORANGE if reference else BLUE)
        if r["low"] is not None:
            ax.hlines(i, r["low"], r["high"], color=colour, linewidth=1.5)
        ax.plot(r["estimate"], i, marker="D" if reference else "o", color=colour, linestyle="none")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{figure.name}: {figure.description}", fontsize=8)
    ax.plot([], [], "o", color=BLUE, label="group, 95% interval")
    ax.plot([], [], "D", color=ORANGE, label="reference group")
    ax.plot([], [], "o", color=VERMILLION, label="flagged against the reference")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    ax.grid(axis="x", alpha=0.3)
    flagged = [f"{r['column']}: {r['group']}" for r in rows if r["flag"]]
    return _image(
        fig,
        f"Forest plot of {figure.name} by group with 95% bootstrap intervals; reference groups as diamonds. "
        f"Flagged: {', '.join(flagged) if flagged else 'none'}.",
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"{value[0]:.4f} to {value[1]:.4f}"
    return html.escape("" if value is None else str(value))


def _rows(report: dict[str, Any]) -> str:
    figures = [
        ("AUC", "auc", "auc_ci", "auc"),
        ("calibration intercept", "calibration_intercept", "calibration_intercept_ci", "calibration_intercept"),
        ("calibration slope", "calibration_slope", "calibration_slope_ci", "calibration_slope"),
        ("Brier score", "brier", "brier_ci", "brier"),
        ("scaled Brier score", "scaled_brier", None, None),
        ("out-of-distribution share", "ood_share", None, "ood_share"),
    ]
    cells = []
    for label, key, ci, verdict in figures:
        interval = report.get(ci) if ci else None
        words = report["verdicts"].get(verdict, "") if verdict else ""
        cells.append(
            f"<tr><td>{label}</td><td>{_cell(report[key])}</td><td>{_cell(interval)}</td><td>{html.escape(words)}</td></tr>"
        )
    for name, point in report["operating_points"].items():
        for key in ("sensitivity", "specificity", "ppv", "npv"):
            words = report["verdicts"].get(f"{name}.{key}", "")
            cells.append(
                f"<tr><td>{name}: {key}</td><td>{_cell(point[key])}</td><td>{_cell(point[f'{key}_ci'])}</td>"
                f"<td>{html.escape(words)}</td></tr>"
            )
    for alpha, outcome in report["conformal"].items():
        for key, value in outcome.items():
            words = report["verdicts"].get(f"{alpha}.{key}", "")
            cells.append(
                f"<tr><td>alpha {alpha}: {key}</td><td>{_cell(value)}</td><td></td><td>{html.escape(words)}</td></tr>"
            )
    return "".join(cells)


def _groups(result: dict[str, Any]) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(g['column'])}</td><td>{html.escape(g['group'])}</td><td>{g['n']}</td>"
        f"<td>{g['events']}</td><td>{g['prevalence']:.3f}</td><td>{html.escape(g['shown'])}</td>"
        f"<td>{'yes' if g['is_reference'] else ''}</td>"
        f"<td>{g['largest_psi']:.2f} ({g['largest_psi_feature']})</td></tr>"
        for g in result["groups"]
    )
    return (
        "<table><thead><tr><th>column</th><th>group</th><th>n</th><th>events</th><th>prevalence</th><th>shown</th>"
        f"<th>reference</th><th>largest PSI</th></tr></thead><tbody>{cells}</tbody></table>"
    )


def _flags(result: dict[str, Any]) -> str:
    flagged = [r for r in result["table"] if r["flag"]]
    if not flagged:
        return "<p>No figure of any group is flagged against its reference.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(r['column'])}</td><td>{html.escape(r['group'])}</td><td>{r['figure']}</td>"
        f"<td>{_cell(r['estimate'])}</td><td>{html.escape(r['reference'])}</td><td>{_cell(r['difference'])} "
        f"({_cell(r['difference_low'])} to {_cell(r['difference_high'])})</td><td>{html.escape(r['note'])}</td></tr>"
        for r in flagged
    )
    return (
        "<table><thead><tr><th>column</th><th>group</th><th>figure</th><th>estimate</th><th>reference</th>"
        f"<th>difference (95% interval)</th><th>why</th></tr></thead><tbody>{cells}</tbody></table>"
    )


def _audit(result: dict[str, Any]) -> str:
    rules = "".join(f"<li>{html.escape(rule)}</li>" for rule in result["rules"])
    cuts = "; ".join(f"{name}: {', '.join(f'{v:.6g}' for v in q)}" for name, q in result["strata"]["quartiles"].items())
    plots = "".join(f"<h3>{html.escape(f.name)}</h3>{forest_plot(result, f)}" for f in audit.FIGURES)
    return f"""<h2>By group (exploratory)</h2>
<p class="warn">{html.escape(audit.EXPLORATORY)}</p>
<p>At the {html.escape(result["operating_point"])} operating point (threshold {result["threshold"]:.4f}) and alpha
{result["alpha"]}; {result["resamples"]} bootstrap resamples. The data's own strata cut at the training quartiles
({html.escape(cuts)}).</p><ul>{rules}</ul>
<h3>Groups</h3>{_groups(result)}
<h3>Flagged figures</h3>{_flags(result)}
{plots}"""


def _parent(report: dict[str, Any]) -> str:
    """An updated version's figures beside its parent's, on the same rows."""
    parent = report.get("parent")
    if not parent:
        return ""
    rows = [("AUC", "auc"), ("calibration intercept", "calibration_intercept"), ("calibration slope",
            "calibration_slope"), ("Brier score", "brier")]  # fmt: skip
    cells = "".join(
        f"<tr><td>{label}</td><td>{_cell(report[key])}</td><td>{_cell(parent[key])}</td></tr>" for label, key in rows
    )
    for name, point in report["operating_points"].items():
        for key in ("sensitivity", "specificity"):
            cells += (
                f"<tr><td>{name}: {key}</td><td>{_cell(point[key])}</td>"
                f"<td>{_cell(parent['operating_points'][name][key])}</td></tr>"
            )
    return (
        f"<h2>Beside the parent</h2><p>This version updates model {html.escape(parent['model_version'])} for the site "
        f"{html.escape(parent['site'])} ({html.escape(parent['method'])}).</p><table><thead><tr><th>figure</th>"
        f"<th>this version</th><th>the parent</th></tr></thead><tbody>{cells}</tbody></table>"
    )


def render(report: dict[str, Any], cohort: str, fingerprint: str) -> str:
    moved = ", ".join(report["features_moved"]) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WDBC classifier: external validation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:left}}
img{{max-width:100%}}.warn{{background:#fff3cd;border:1px solid #E69F00;padding:1em}}</style></head><body><main>
<p class="warn"><strong>{html.escape(report["disclaimer"])}</strong></p>
<h1>Model {html.escape(report["model_version"])} on {html.escape(cohort)}</h1>
<p>Cohort fingerprint (sha256 of its rows and labels): <code>{fingerprint}</code>. {report["n"]} rows judged,
prevalence {report["prevalence"]:.3f}. {html.escape(report["overlap_with_training"]["note"])}.
Bootstrap: {report["bootstrap_resamples"]} resamples.</p>
{_parent(report)}<h2>Figures, beside what the model's nested cross-validation predicted</h2>
<table><thead><tr><th>figure</th><th>value</th><th>95% interval</th><th>verdict</th></tr></thead>
<tbody>{_rows(report)}</tbody></table>
<h2>Calibration</h2>{calibration_plot(report["calibration_curve"])}
<h2>Decision curve</h2>{decision_plot(report["net_benefit"])}
<h2>Shift of the inputs</h2><p>Features whose population stability index against the training deciles
passes 0.25: {html.escape(moved)}.</p>
{_audit(report["audit"])}
</main></body></html>
"""
