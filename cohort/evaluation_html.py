"""The cohort report for people: one self-contained HTML page with inline SVG plots, numpy-free text only."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT, MARGIN = 420, 300, 40
# Okabe-Ito, distinguishable with every common colour-vision deficiency.
BLUE, VERMILLION, GREY = "#0072B2", "#D55E00", "#999999"


def _xy(x: float, y: float, low: float, high: float) -> tuple[float, float]:
    span = (high - low) or 1.0
    return MARGIN + x * (WIDTH - 2 * MARGIN), HEIGHT - MARGIN - (y - low) / span * (HEIGHT - 2 * MARGIN)


def _path(xs: Sequence[float], ys: Sequence[float], low: float, high: float) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}"
        for i, (px, py) in enumerate(_xy(x, y, low, high) for x, y in zip(xs, ys, strict=True))
    )


def _svg(title: str, body: str, x_label: str, y_label: str) -> str:
    return (
        f'<svg role="img" aria-label="{html.escape(title)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{html.escape(title)}</title>'
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" height="{HEIGHT - 2 * MARGIN}" '
        f'fill="none" stroke="{GREY}"/>{body}'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12">{html.escape(x_label)}</text>'
        f'<text x="12" y="{HEIGHT / 2}" font-size="12" transform="rotate(-90 12 {HEIGHT / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text></svg>'
    )


def calibration_plot(curve: dict[str, list[float]]) -> str:
    xs = curve["probability"]
    band = (
        _path(xs, curve["band_high"], 0, 1) + " " + _path(xs[::-1], curve["band_low"][::-1], 0, 1).replace("M", "L", 1)
    )
    body = (
        f'<path d="{band} Z" fill="{BLUE}" fill-opacity="0.2" stroke="none"/>'
        f'<path d="{_path([0, 1], [0, 1], 0, 1)}" stroke="{GREY}" stroke-dasharray="4 4" fill="none"/>'
        f'<path d="{_path(xs, curve["observed"], 0, 1)}" stroke="{BLUE}" stroke-width="2" fill="none"/>'
    )
    return _svg(
        "Calibration: observed share malignant against predicted probability, with a 95% band",
        body,
        "predicted probability of malignancy",
        "observed share malignant",
    )


def decision_plot(curve: dict[str, list[float]]) -> str:
    thresholds = [t / 0.5 for t in curve["thresholds"]]  # 0 to 0.5 across the width
    low = min(-0.05, *curve["treat_all"])
    high = max(*curve["model"], *curve["treat_all"], 0.05)
    body = "".join(
        f'<path d="{_path(thresholds, curve[key], low, high)}" stroke="{colour}" stroke-width="2" fill="none"/>'
        for key, colour in (("model", BLUE), ("treat_all", VERMILLION), ("treat_none", GREY))
    )
    return _svg(
        "Decision curve: net benefit of the model (blue), of treating all (vermillion) and none (grey)",
        body,
        "threshold probability (0 to 0.5)",
        "net benefit",
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


def render(report: dict[str, Any], cohort: str, fingerprint: str) -> str:
    moved = ", ".join(report["features_moved"]) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WDBC classifier: external validation</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 8px;text-align:left}}
.warn{{background:#fff3cd;border:1px solid #E69F00;padding:1em}}</style></head><body><main>
<p class="warn"><strong>{html.escape(report["disclaimer"])}</strong></p>
<h1>Model {html.escape(report["model_version"])} on {html.escape(cohort)}</h1>
<p>Cohort fingerprint (sha256 of its rows and labels): <code>{fingerprint}</code>. {report["n"]} rows judged,
prevalence {report["prevalence"]:.3f}. {html.escape(report["overlap_with_training"]["note"])}.
Bootstrap: {report["bootstrap_resamples"]} resamples.</p>
<h2>Figures, beside what the model's nested cross-validation predicted</h2>
<table><thead><tr><th>figure</th><th>value</th><th>95% interval</th><th>verdict</th></tr></thead>
<tbody>{_rows(report)}</tbody></table>
<h2>Calibration</h2>{calibration_plot(report["calibration_curve"])}
<h2>Decision curve</h2>{decision_plot(report["net_benefit"])}
<h2>Shift of the inputs</h2><p>Features whose population stability index against the training deciles
passes 0.25: {html.escape(moved)}.</p>
</main></body></html>
"""
